package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/testenv/tauproc"
	"github.com/taudb/tau/pkg/protocol"
)

// TestR11_SIGKILLLosesNothingAcknowledged runs the real binary, appends from many pipelined
// connections, SIGKILLs it at a random moment, restarts it on the same directory and checks
// that every acknowledged point is there with its exact bits, that every acknowledged drop
// holds, and that appends refused with ERR are absent. Ten rounds, each with its own seed,
// alternating the fsync policies (both promise survival of a process crash). Every other
// round ends with a clean stop instead: its final checkpoint moves full chunks into chunk
// files (the fifth merges the four before it), so later rounds are killed, and verified, with
// most points only in chunk files.
func TestR11_SIGKILLLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	dir := t.TempDir()
	model := newDurableModel()
	const rounds = 10
	for round := 0; round < rounds; round++ {
		fsync := []string{"always", "interval"}[(round/2)%2]
		p := startBinary(t, dir, fsync)
		model.verify(t, p.Addr, round)
		rng := rand.New(rand.NewSource(int64(round) + 1))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			wrng := rand.New(rand.NewSource(rng.Int63()))
			go func(w int) {
				defer wg.Done()
				model.write(p.Addr, fmt.Sprintf("r%02d-w%d", round, w), round, wrng, stop)
			}(w)
		}
		time.Sleep(time.Duration(100+rng.Intn(400)) * time.Millisecond)
		if round%2 == 1 {
			if code := p.Stop(tauproc.UntilHang); code != 0 {
				t.Fatalf("round %d: clean stop exited %d", round, code)
			}
		} else {
			p.Kill()
		}
		close(stop)
		wg.Wait()
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "chunks", "*")); len(files) == 0 {
		t.Fatal("no chunk file was written: the rounds never read points back from one")
	}
	p := startBinary(t, dir, "always")
	model.verify(t, p.Addr, rounds)
	p.Kill()
	if model.acked() == 0 {
		t.Fatal("no append was acknowledged")
	}
	t.Logf("%d acknowledged points and %d drops survived %d SIGKILLs and %d clean stops", model.acked(), model.drops(), rounds-rounds/2, rounds/2)
}

// durableModel is what the server acknowledged, per series.
type durableModel struct {
	mu     sync.Mutex
	series map[protocol.Label]*seriesModel
}

type seriesModel struct {
	points  map[int64]uint64 // acknowledged
	sent    map[int64]uint64 // sent, not yet answered
	refused []int64          // answered ERR out_of_order
	dropped bool             // drop acknowledged
	// dropSent: a drop was sent and the kill came before its answer: after the restart the
	// series is there whole, or gone, and either is right.
	dropSent bool
}

func newDurableModel() *durableModel { return &durableModel{series: map[protocol.Label]*seriesModel{}} }

// write creates a series, appends to it in pipelined batches until the connection dies or stop,
// slipping in out-of-order appends, and drops one of the series of an earlier round.
func (m *durableModel) write(addr, name string, round int, rng *rand.Rand, stop <-chan struct{}) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer func() { _ = nc.Close() }()
	br := bufio.NewReader(nc)
	call := func(frames []byte, n int) []answer {
		if _, err := nc.Write(frames); err != nil {
			return nil
		}
		var out []answer
		for i := 0; i < n; i++ {
			a, err := (&rawConn{nc: nc, br: br}).tryRead()
			if err != nil {
				return out
			}
			out = append(out, a)
		}
		return out
	}
	if a := call(protocol.AppendFrame(nil, protocol.OpConnect, auth.DevCertificate[:]), 1); len(a) != 1 || a[0].op != protocol.OpOK {
		return
	}
	if round > 0 && rng.Intn(2) == 0 {
		m.dropOne(call, rng)
	}
	l := label(name)
	if a := call(protocol.AppendFrame(nil, protocol.OpCreateSeries, series(l)), 1); len(a) != 1 || a[0].op != protocol.OpOK {
		return
	}
	m.mu.Lock()
	s := &seriesModel{points: map[int64]uint64{}, sent: map[int64]uint64{}}
	m.series[l] = s
	m.mu.Unlock()
	for ts := int64(100); ; {
		select {
		case <-stop:
			return
		default:
		}
		var frames []byte
		var sent []int64
		for i := 0; i < 32; i++ {
			ts += 10
			if i == 16 {
				frames = protocol.AppendFrame(frames, protocol.OpAppend, appendP(l, ts-25, 0))
				sent = append(sent, -(ts - 25)) // negative marks the one expected to be refused
			}
			bits := rng.Uint64() // any bits, NaN payloads included
			frames = protocol.AppendFrame(frames, protocol.OpAppend, appendBits(l, ts, bits))
			sent = append(sent, ts)
			m.mu.Lock()
			s.pending(ts, bits)
			m.mu.Unlock()
		}
		answers := call(frames, len(sent))
		m.mu.Lock()
		for i, a := range answers {
			s.answered(sent[i], a)
		}
		m.mu.Unlock()
		if len(answers) < len(sent) {
			return
		}
	}
}

// pending remembers a value until its answer; only OK'd ones enter points.
func (s *seriesModel) pending(ts int64, bits uint64) { s.sent[ts] = bits }

func (s *seriesModel) answered(ts int64, a answer) {
	if ts < 0 {
		if a.op == protocol.OpErr && len(a.payload) == 1 && a.payload[0] == byte(protocol.StatusOutOfOrder) {
			s.refused = append(s.refused, -ts)
		}
		return
	}
	if a.op == protocol.OpOK {
		s.points[ts] = s.sent[ts]
	}
	delete(s.sent, ts)
}

func (m *durableModel) dropOne(call func([]byte, int) []answer, rng *rand.Rand) {
	m.mu.Lock()
	var victim protocol.Label
	var vs *seriesModel
	for l, s := range m.series {
		if !s.dropped && rng.Intn(3) == 0 {
			victim, vs = l, s
			break
		}
	}
	m.mu.Unlock()
	if vs == nil {
		return
	}
	a := call(protocol.AppendFrame(nil, protocol.OpDropSeries, series(victim)), 1)
	m.mu.Lock()
	switch {
	case len(a) == 1 && a[0].op == protocol.OpOK:
		vs.dropped = true
	case len(a) == 0:
		vs.dropSent = true
	}
	m.mu.Unlock()
}

// verify checks the recovered server against everything acknowledged so far, pipelining the
// queries of each series.
func (m *durableModel) verify(t *testing.T, addr string, round int) {
	t.Helper()
	c := connect(t, addr)
	m.mu.Lock()
	defer m.mu.Unlock()
	for l, s := range m.series {
		if s.dropSent && !s.dropped {
			s.dropSent = false // settled now: the restart has what it has, for good
			if a := c.call(protocol.OpQueryPoint, queryP(l, 0)); a.op == protocol.OpErr && len(a.payload) == 1 &&
				a.payload[0] == byte(protocol.StatusSeriesNotFound) {
				s.dropped = true // the unanswered drop was durable
			}
		}
		if s.dropped {
			c.expect(c.call(protocol.OpQueryPoint, queryP(l, 0)), errAnswer(protocol.StatusSeriesNotFound))
			continue
		}
		var frames []byte
		var want []answer
		for ts, bits := range s.points {
			frames = protocol.AppendFrame(frames, protocol.OpQueryPoint, queryP(l, ts))
			want = append(want, answer{protocol.OpOK, protocol.AppendQueryAnswer(nil, true, bits)[protocol.HeaderSize:]})
		}
		for _, ts := range s.refused {
			frames = protocol.AppendFrame(frames, protocol.OpQueryPoint, queryP(l, ts))
			want = append(want, notFoundAnswer)
		}
		c.sendAsync(frames)
		for i, w := range want {
			got := c.read()
			if got.op != w.op || !bytes.Equal(got.payload, w.payload) {
				t.Fatalf("round %d: series %q query %d: got %v %x, want %x", round,
					strings.TrimRight(string(l[:]), "\x00"), i, got, got.payload, w.payload)
			}
		}
	}
}

func (m *durableModel) acked() (n int) {
	for _, s := range m.series {
		if !s.dropped {
			n += len(s.points)
		}
	}
	return n
}

func (m *durableModel) drops() (n int) {
	for _, s := range m.series {
		if s.dropped {
			n++
		}
	}
	return n
}

// startBinary runs the binary on dir with the given fsync policy.
func startBinary(t *testing.T, dir, fsync string) *tauproc.Process {
	return tauproc.Start(t, tauproc.Options{DataDir: dir, Env: []string{"TAU_FSYNC=" + fsync, "TAU_FSYNC_INTERVAL=50ms"}})
}
