package e2e

import (
	"bufio"
	"fmt"
	"math"
	"math/rand"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/protocol"
)

// TestE3_SIGKILLBatchesWholeOrAbsent runs the real binary, sends pipelined APPEND_BATCHes of
// random sizes from several connections, SIGKILLs it at a random moment and restarts it on the
// same directory: every acknowledged batch is there whole with its exact bits (R11), every
// batch still unanswered at the kill is there whole or not at all (E3), none answered ERR is
// there, and nothing else is.
// Six rounds, alternating the fsync policies.
func TestE3_SIGKILLBatchesWholeOrAbsent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	dir := t.TempDir()
	var models []*batchModel
	const rounds = 6
	acked := 0
	for round := 0; round < rounds; round++ {
		p := startBinary(t, dir, []string{"always", "interval"}[round%2])
		for _, m := range models {
			acked += m.verify(t, p.Addr, round)
		}
		rng := rand.New(rand.NewSource(int64(round) + 101))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			m := &batchModel{label: label(fmt.Sprintf("b%02d-w%d", round, w))}
			models = append(models, m)
			wrng := rand.New(rand.NewSource(rng.Int63()))
			wg.Add(1)
			go func() {
				defer wg.Done()
				m.write(p.Addr, wrng, stop)
			}()
		}
		time.Sleep(time.Duration(100+rng.Intn(400)) * time.Millisecond)
		p.Kill()
		close(stop)
		wg.Wait()
	}
	p := startBinary(t, dir, "always")
	acked = 0
	for _, m := range models {
		acked += m.verify(t, p.Addr, rounds)
	}
	p.Kill()
	if acked == 0 {
		t.Fatal("no batch was acknowledged")
	}
	t.Logf("%d acknowledged batches survived %d SIGKILLs whole", acked, rounds)
}

// batchModel is one series written only in batches: each batch sent, and whether it was
// acknowledged. Batches of one series never overlap in time, so each stored point names its
// batch.
type batchModel struct {
	label   protocol.Label
	mu      sync.Mutex
	created bool
	batches []sentBatch
}

type sentBatch struct {
	ts      []int64
	bits    []uint64
	acked   bool // answered OK
	refused bool // answered ERR: must be absent (R11)
}

// write creates the series and sends batches four at a time until the connection dies or stop.
func (m *batchModel) write(addr string, rng *rand.Rand, stop <-chan struct{}) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer func() { _ = nc.Close() }()
	rc := &rawConn{nc: nc, br: bufio.NewReader(nc)}
	call := func(frames []byte, n int) []answer {
		if _, err := nc.Write(frames); err != nil {
			return nil
		}
		var out []answer
		for range n {
			a, err := rc.tryRead()
			if err != nil {
				break
			}
			out = append(out, a)
		}
		return out
	}
	if a := call(protocol.AppendFrame(nil, protocol.OpConnect, protocol.DevCertificate[:]), 1); len(a) != 1 || a[0].op != protocol.OpOK {
		return
	}
	if a := call(protocol.AppendFrame(nil, protocol.OpCreateSeries, series(m.label)), 1); len(a) != 1 || a[0].op != protocol.OpOK {
		return
	}
	m.mu.Lock()
	m.created = true
	m.mu.Unlock()
	ts := int64(1000)
	for {
		select {
		case <-stop:
			return
		default:
		}
		var frames []byte
		first := len(m.batches)
		for range 4 {
			b := sentBatch{}
			n := 1 + rng.Intn(200)
			payload := protocol.AppendBatchHeader(nil, m.label, n)
			for range n {
				ts += 1 + int64(rng.Intn(5))
				bits := rng.Uint64() // any bits, NaN payloads included
				payload = protocol.AppendBatchPointBits(payload, ts, bits)
				b.ts, b.bits = append(b.ts, ts), append(b.bits, bits)
			}
			frames = protocol.AppendFrame(frames, protocol.OpAppendBatch, payload)
			m.mu.Lock()
			m.batches = append(m.batches, b)
			m.mu.Unlock()
		}
		answers := call(frames, 4)
		m.mu.Lock()
		for i, a := range answers {
			m.batches[first+i].acked = a.op == protocol.OpOK
			m.batches[first+i].refused = a.op == protocol.OpErr
		}
		m.mu.Unlock()
		if len(answers) < 4 {
			return
		}
	}
}

// verify reads the whole series back and checks it batch by batch; it returns the number of
// acknowledged batches.
func (m *batchModel) verify(t *testing.T, addr string, round int) int {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.created {
		return 0 // its CREATE may or may not have been answered before the kill
	}
	ctx, cancel := hangContext(t)
	defer cancel()
	c, err := client.Dial(ctx, addr, protocol.DevCertificate, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	stored := map[int64]uint64{}
	for pt, err := range c.Range(ctx, m.label, math.MinInt64, math.MaxInt64, nil) {
		if err != nil {
			t.Fatalf("round %d: reading %s: %v", round, m.label, err)
		}
		stored[pt.TS] = pt.Bits
	}
	acked, seen := 0, 0
	for i, b := range m.batches {
		present := 0
		for j, ts := range b.ts {
			if bits, ok := stored[ts]; ok {
				present++
				if bits != b.bits[j] {
					t.Fatalf("round %d: %s batch %d point %d: bits %#x, want %#x", round, m.label, i, ts, bits, b.bits[j])
				}
			}
		}
		switch {
		case b.acked && present != len(b.ts):
			t.Fatalf("round %d: %s acknowledged batch %d has %d of its %d points", round, m.label, i, present, len(b.ts))
		case b.refused && present != 0:
			t.Fatalf("round %d: %s batch %d was answered ERR but %d of its points are there", round, m.label, i, present)
		case present != 0 && present != len(b.ts):
			t.Fatalf("round %d: %s batch %d is partly there: %d of %d points", round, m.label, i, present, len(b.ts))
		}
		if b.acked {
			acked++
		}
		seen += present
	}
	if seen != len(stored) {
		t.Fatalf("round %d: %s holds %d points, the batches sent account for %d", round, m.label, len(stored), seen)
	}
	return acked
}
