package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/server"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/internal/storage"
	"github.com/taudb/tau/internal/testenv/hang"
	"github.com/taudb/tau/internal/testenv/tauproc"
	"github.com/taudb/tau/pkg/protocol"
)

// The load of the shutdown tests: enough series that a checkpoint (one snapshot round trip
// through the worker pool per series, then one file written and fsynced) takes a while.
const (
	loadSeries  = 4000
	loadPoints  = 3 // per series, loaded before the first round
	loadWriters = 4
)

// TestR11_SIGTERMUnderLoadExitsZeroLosesNothing runs the binary over thousands of
// series and sends SIGTERM while pipelined appends are in flight, round after round: each
// stop drains the connections, writes the final checkpoint of every series, and must end with
// exit 0 (a hang is caught by the deadline, with the server's goroutines in the failure).
// After each restart every acknowledged point is there with its exact bits, and every append
// refused at shutdown is absent.
//
// The binary keeps the operator's checkpoint policy (every 5 min or 128 MiB of log), so here
// the checkpoint running at SIGTERM is the final one; a periodic checkpoint overlapping the
// stop is TestShutdownWaitsForRunningCheckpoint's part, in-process on the same run.Group.
func TestR11_SIGTERMUnderLoadExitsZeroLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const rounds = 12
	dir := t.TempDir()
	start := func(round int) *tauproc.Process {
		fsync := []string{"interval", "always"}[round%2]
		return tauproc.Start(t, tauproc.Options{DataDir: dir, Env: []string{"TAU_FSYNC=" + fsync}})
	}
	m := newAckModel(loadSeries)
	p := start(0)
	began := time.Now()
	m.create(t, p.Addr)
	m.run(t, p.Addr, nil, loadPoints)
	t.Logf("loaded %d series × %d points in %v", loadSeries, loadPoints, time.Since(began).Round(time.Millisecond))
	rng := rand.New(rand.NewSource(1))
	for round := 1; round <= rounds; round++ {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { defer close(done); m.run(t, p.Addr, stop, 0) }()
		time.Sleep(time.Duration(10+rng.Intn(50)) * time.Millisecond)
		sent := time.Now()
		if code := p.Stop(tauproc.UntilHang); code != 0 {
			t.Fatalf("round %d: exit %d after SIGTERM; log:\n%s", round, code, p.Log())
		}
		took := time.Since(sent)
		close(stop)
		<-done
		ckpt := p.Entries("checkpoint committed")
		if len(ckpt) == 0 {
			t.Fatalf("round %d: no final checkpoint; log:\n%s", round, p.Log())
		}
		last := ckpt[len(ckpt)-1]
		t.Logf("round %d: SIGTERM to exit 0 in %v; final checkpoint of %v series committed in %.3fs", round,
			took.Round(time.Millisecond), last["series"], last["duration"])

		p = start(round)
		m.verify(t, p.Addr, round)
	}
	if code := p.Stop(tauproc.UntilHang); code != 0 {
		t.Fatalf("exit %d after SIGTERM; log:\n%s", code, p.Log())
	}
	t.Logf("%d acknowledged points and %d refused ones held across %d SIGTERMs", m.acked(), m.refused(), rounds)
}

// TestShutdownWaitsForRunningCheckpoint stops the server while a periodic checkpoint is taking
// its snapshots, round after round, with appends in flight. The run.Group is the binary's (servertest runs server.Run,
// which is AddTo behind a stop actor instead of the signal one); only the checkpoint policy is
// shortened, through server.Options, so that checkpoints run back to back under the appends.
// The stop comes right after a checkpoint has cut the log, before its snapshots: the checkpoint
// loop's interrupt must wait for it, and the final checkpoint must not run beside it, or a
// snapshot waits forever on a worker that has stopped. Each stop must return without error
// (a hang is caught by servertest's deadline, with the goroutines in the failure), and after
// each restart every acknowledged point is there.
func TestShutdownWaitsForRunningCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("loads thousands of series")
	}
	const rounds = 15
	dir := t.TempDir()
	m := newAckModel(loadSeries)
	var stoppedDuring int
	for round := 0; round <= rounds; round++ {
		disk, err := storage.OpenDisk(dir, storage.DiskOptions{Fsync: storage.FsyncInterval, Interval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		st := &watchedStore{Disk: disk, began: make(chan struct{}, 1)}
		srv := servertest.StartWith(t, server.Options{
			Store:       st,
			Checkpoints: engine.CheckpointOptions{Check: time.Millisecond, Every: time.Millisecond, LogBytes: 1},
		}, func(c *config.Config) { c.DataDir = dir })
		began := time.Now()
		if round == 0 {
			m.create(t, srv.Addr())
			m.run(t, srv.Addr(), nil, loadPoints)
		} else {
			m.verify(t, srv.Addr(), round)
		}
		verified := time.Since(began)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { defer close(done); m.run(t, srv.Addr(), stop, 0) }()
		select { // a checkpoint that began before the writers may be over: wait for the next
		case <-st.began:
		default:
		}
		select {
		case <-st.began:
		case <-hang.After(t):
			t.Fatal("no checkpoint began under the appends")
		}
		if st.inFlight.Load() > 0 {
			stoppedDuring++
		}
		stopped := time.Now()
		err = srv.Stop()
		took := time.Since(stopped)
		close(stop)
		<-done // the writers end once the stop has closed their connections
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		t.Logf("round %d: stopped in %v; checkpoints begun %d, committed %d (verify took %v)", round,
			took.Round(time.Millisecond), st.begun.Load(), st.committed.Load(), verified.Round(time.Millisecond))
	}
	srv := servertest.Start(t, func(c *config.Config) { c.DataDir = dir })
	m.verify(t, srv.Addr(), rounds+1)
	if stoppedDuring == 0 {
		t.Fatal("no stop came while a checkpoint was running: the test proved nothing")
	}
	t.Logf("%d of %d stops came while a periodic checkpoint was running; %d acknowledged points held",
		stoppedDuring, rounds+1, m.acked())
}

// watchedStore tells when a checkpoint has cut the log (its snapshots come next) and counts
// the checkpoints begun and committed.
type watchedStore struct {
	*storage.Disk
	began                      chan struct{}
	begun, committed, inFlight atomic.Int64
}

func (s *watchedStore) BeginCheckpoint() (storage.Mark, error) {
	m, err := s.Disk.BeginCheckpoint()
	if err == nil {
		s.begun.Add(1)
		s.inFlight.Add(1)
		select {
		case s.began <- struct{}{}:
		default:
		}
	}
	return m, err
}

func (s *watchedStore) CommitCheckpoint(m storage.Mark, snaps []storage.SeriesSnapshot, install func()) error {
	defer s.inFlight.Add(-1)
	err := s.Disk.CommitCheckpoint(m, snaps, install)
	if err == nil {
		s.committed.Add(1)
	}
	return err
}

// ackModel is what the server acknowledged, per series. Writer w owns the series i with
// i%loadWriters == w, so a series' timestamps only grow and no lock is needed; writing and
// verifying never overlap.
type ackModel struct{ series []*ackSeries }

type ackSeries struct {
	label   protocol.Label
	next    int64    // the next timestamp: above every one sent, answered or not
	ts      []int64  // acknowledged
	bits    []uint64 // their values
	refused []int64  // answered busy at shutdown: must be absent
}

func newAckModel(n int) *ackModel {
	m := &ackModel{}
	for i := 0; i < n; i++ {
		m.series = append(m.series, &ackSeries{label: label(fmt.Sprintf("sigterm-%05d", i)), next: 1})
	}
	return m
}

// create makes every series, pipelined.
func (m *ackModel) create(t *testing.T, addr string) {
	t.Helper()
	c := connect(t, addr)
	var frames []byte
	for _, s := range m.series {
		frames = protocol.AppendFrame(frames, protocol.OpCreateSeries, series(s.label))
	}
	c.sendAsync(frames)
	for range m.series {
		c.expect(c.read(), okAnswer)
	}
}

// run appends from loadWriters pipelined connections until each series has limit points
// (limit > 0), or until stop is closed or the server closes the connections.
func (m *ackModel) run(t *testing.T, addr string, stop <-chan struct{}, limit int) {
	var wg sync.WaitGroup
	for w := 0; w < loadWriters; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			if err := m.write(addr, w, stop, limit); err != nil {
				t.Errorf("writer %d: %v", w, err)
			}
		}(w)
	}
	wg.Wait()
}

// write is one writer. Only an answer that is neither OK nor busy is an error; a connection
// that the shutdown closes ends the writer.
func (m *ackModel) write(addr string, w int, stop <-chan struct{}, limit int) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil // the server is already stopping
	}
	defer func() { _ = nc.Close() }()
	c := &rawConn{nc: nc, br: bufio.NewReader(nc)}
	if _, err := nc.Write(protocol.AppendFrame(nil, protocol.OpConnect, auth.DevCertificate[:])); err != nil {
		return nil
	}
	if a, err := c.tryRead(); err != nil || a.op != protocol.OpOK {
		return nil
	}
	rng := rand.New(rand.NewSource(int64(w) + time.Now().UnixNano()))
	var mine []*ackSeries
	for i := w; i < len(m.series); i += loadWriters {
		mine = append(mine, m.series[i])
	}
	const batch = 128
	type sent struct {
		s    *ackSeries
		ts   int64
		bits uint64
	}
	for next, full := 0, 0; ; {
		select {
		case <-stop:
			return nil
		default:
		}
		var frames []byte
		var batchSent []sent
		for len(batchSent) < batch && full < len(mine) {
			s := mine[next%len(mine)]
			next++
			if limit > 0 && s.next > int64(limit) {
				full++ // limit points sent to it already
				continue
			}
			full = 0
			b := sent{s, s.next, rng.Uint64()} // any bits, NaN payloads included
			s.next++
			frames = protocol.AppendFrame(frames, protocol.OpAppend, appendBits(s.label, b.ts, b.bits))
			batchSent = append(batchSent, b)
		}
		if len(batchSent) == 0 {
			return nil // every series has its limit
		}
		if _, err := nc.Write(frames); err != nil {
			return nil
		}
		for _, b := range batchSent {
			a, err := c.tryRead()
			if err != nil {
				return nil // closed by the shutdown: the rest were not acknowledged
			}
			switch {
			case a.op == protocol.OpOK:
				b.s.ts = append(b.s.ts, b.ts)
				b.s.bits = append(b.s.bits, b.bits)
			case a.op == protocol.OpErr && bytes.Equal(a.payload, []byte{byte(protocol.StatusBusy)}):
				b.s.refused = append(b.s.refused, b.ts)
			default:
				return fmt.Errorf("append %d to %q: %v", b.ts, b.s.label, a)
			}
		}
	}
}

// verify queries every acknowledged point (its exact bits) and every refused one (absent),
// pipelined in large batches.
func (m *ackModel) verify(t *testing.T, addr string, round int) {
	t.Helper()
	c := connect(t, addr)
	type query struct {
		s    *ackSeries
		ts   int64
		want answer
	}
	var qs []query
	flush := func() {
		var frames []byte
		for _, q := range qs {
			frames = protocol.AppendFrame(frames, protocol.OpQueryPoint, queryP(q.s.label, q.ts))
		}
		c.sendAsync(frames)
		for _, q := range qs {
			got, err := c.tryRead()
			if err != nil {
				t.Fatalf("round %d: reading answers: %v", round, err)
			}
			if got.op != q.want.op || !bytes.Equal(got.payload, q.want.payload) {
				t.Fatalf("round %d: series %q at %d: got %v %x, want %v %x", round, q.s.label, q.ts,
					got, got.payload, q.want, q.want.payload)
			}
		}
		qs = qs[:0]
	}
	for _, s := range m.series {
		for i, ts := range s.ts {
			qs = append(qs, query{s, ts, answer{protocol.OpOK, protocol.AppendQueryAnswer(nil, true, s.bits[i])[protocol.HeaderSize:]}})
		}
		for _, ts := range s.refused {
			qs = append(qs, query{s, ts, notFoundAnswer})
		}
		if len(qs) >= 8192 {
			flush()
		}
	}
	flush()
}

func (m *ackModel) acked() (n int) {
	for _, s := range m.series {
		n += len(s.ts)
	}
	return n
}

func (m *ackModel) refused() (n int) {
	for _, s := range m.series {
		n += len(s.refused)
	}
	return n
}
