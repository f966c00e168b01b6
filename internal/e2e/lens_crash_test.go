package e2e

import (
	"bufio"
	"fmt"
	"math"
	"math/rand"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/testenv/tauproc"
	"github.com/taudb/tau/pkg/protocol"
)

// TestE5_SIGKILLKeepsAcknowledgedLenses runs the real binary, creates, composes and drops
// lenses from several pipelining connections, SIGKILLs it at a random moment, restarts it on
// the same directory and checks (R11): every acknowledged create or compose is there with its
// chain (its answer at a known point), every acknowledged drop holds, nothing refused and
// nothing never sent appears. Unanswered changes may or may not have happened. Six rounds,
// alternating the fsync policies.
func TestE5_SIGKILLKeepsAcknowledgedLenses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	dir := t.TempDir()
	m := &lensModel{lenses: map[protocol.Label]*lensState{}}
	const rounds = 6
	for round := range rounds {
		fsync := []string{"always", "interval"}[round%2]
		p := tauproc.Start(t, tauproc.Options{DataDir: dir,
			Env: []string{"TAU_FSYNC=" + fsync, "TAU_FSYNC_INTERVAL=50ms", "TAU_LENS_CAPACITY=100000"}})
		if round == 0 {
			c := connect(t, p.Addr)
			c.create(lensSource, []rp{{TS: 1, Bits: fb(10)}, {TS: 2, Bits: fb(25)}})
		}
		m.verify(t, p.Addr, round)
		rng := rand.New(rand.NewSource(int64(round) + 11))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			wrng := rand.New(rand.NewSource(rng.Int63()))
			go func() {
				defer wg.Done()
				m.write(p.Addr, fmt.Sprintf("r%d-w%d", round, w), wrng, stop)
			}()
		}
		time.Sleep(time.Duration(100+rng.Intn(400)) * time.Millisecond)
		p.Kill()
		close(stop)
		wg.Wait()
	}
	p := tauproc.Start(t, tauproc.Options{DataDir: dir, Env: []string{"TAU_LENS_CAPACITY=100000"}})
	m.verify(t, p.Addr, rounds)
	p.Kill()
	present, dropped := m.counts()
	if present == 0 || dropped == 0 {
		t.Fatalf("%d acknowledged lenses and %d acknowledged drops: the test proved nothing", present, dropped)
	}
	t.Logf("%d acknowledged lenses and %d acknowledged drops survived %d SIGKILLs", present, dropped, rounds)
}

// lensSource is the series every lens of the crash test reads: 10 at ts 1, 25 at ts 2.
var lensSource = label("lens.source")

// crashTransforms are the transforms the crash test uses; its reference evaluates them.
var crashTransforms = []string{"identity", "celsius_to_fahrenheit", "celsius_to_kelvin", "meters_to_feet", "returns", "log_return"}

// lensState is what the server said of one lens label. Labels are never reused.
type lensState struct {
	chain   []string // the transforms, in order
	present bool     // create or compose acknowledged (and no drop acknowledged)
	dropped bool     // drop acknowledged
	refused bool     // create or compose answered ERR: it must never appear
	unsure  bool     // a change was sent and not answered: either outcome is right
}

type lensModel struct {
	mu     sync.Mutex
	lenses map[protocol.Label]*lensState
}

// write makes lenses from one connection until it dies or stop: pipelined batches of creates,
// composes of lenses it made before, and drops of some of them.
func (m *lensModel) write(addr, name string, rng *rand.Rand, stop <-chan struct{}) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer func() { _ = nc.Close() }()
	rc := &rawConn{nc: nc, br: bufio.NewReader(nc)}
	if _, err := nc.Write(protocol.AppendFrame(nil, protocol.OpConnect, auth.DevCertificate[:])); err != nil {
		return
	}
	if a, err := rc.tryRead(); err != nil || a.op != protocol.OpOK {
		return
	}
	var mine []protocol.Label // acknowledged, not dropped
	for n := 0; ; {
		select {
		case <-stop:
			return
		default:
		}
		type sent struct {
			l    protocol.Label
			drop bool
		}
		var frames []byte
		var batch []sent
		m.mu.Lock()
		for range 8 {
			n++
			l := label(fmt.Sprintf("%s-%05d", name, n))
			switch r := rng.Intn(10); {
			case r < 2 && len(mine) > 0: // drop one of ours
				i := rng.Intn(len(mine))
				d := mine[i]
				mine = slices.Delete(mine, i, i+1)
				m.lenses[d].unsure = true
				frames = protocol.AppendFrame(frames, protocol.OpDropLens, series(d))
				batch = append(batch, sent{d, true})
			case r < 4 && len(mine) > 1: // compose two of ours
				first, second := mine[rng.Intn(len(mine))], mine[rng.Intn(len(mine))]
				chain := append(slices.Clone(m.lenses[first].chain), m.lenses[second].chain...)
				m.lenses[l] = &lensState{chain: chain, unsure: true}
				frames = protocol.AppendFrame(frames, protocol.OpComposeLens, composeLensP(l, first, second))
				batch = append(batch, sent{l, false})
			default:
				tr := crashTransforms[rng.Intn(len(crashTransforms))]
				m.lenses[l] = &lensState{chain: []string{tr}, unsure: true}
				frames = protocol.AppendFrame(frames, protocol.OpCreateLens, createLensP(l, lensSource, tr))
				batch = append(batch, sent{l, false})
			}
		}
		m.mu.Unlock()
		if _, err := nc.Write(frames); err != nil {
			return
		}
		for _, s := range batch {
			a, err := rc.tryRead()
			if err != nil {
				return // the rest stay unsure
			}
			m.mu.Lock()
			st := m.lenses[s.l]
			st.unsure = false
			switch {
			case s.drop && a.op == protocol.OpOK:
				st.present, st.dropped = false, true
			case s.drop: // refused: still there
			case a.op == protocol.OpOK:
				st.present = true
				mine = append(mine, s.l)
			default:
				st.refused = true
			}
			m.mu.Unlock()
		}
	}
}

// verify checks the restarted server against the model: LIST_LENSES holds every lens known
// present, none known absent, and none the model never sent; each present lens answers its
// chain's value at ts 2.
func (m *lensModel) verify(t *testing.T, addr string, round int) {
	t.Helper()
	c := connect(t, addr)
	listed := map[protocol.Label]bool{}
	for _, l := range c.listLenses(nil) {
		listed[l] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for l := range listed {
		st, ok := m.lenses[l]
		switch {
		case !ok:
			t.Fatalf("round %d: lens %q was never made", round, name(l))
		case st.refused || (st.dropped && !st.unsure):
			t.Fatalf("round %d: lens %q is there, but was refused or dropped (%+v)", round, name(l), *st)
		}
	}
	for l, st := range m.lenses {
		if st.unsure {
			// Settle the unsure ones by what the server now holds, so later rounds judge
			// them as acknowledged or absent.
			st.unsure, st.present = false, listed[l]
			st.dropped = st.dropped || !listed[l]
			continue
		}
		if st.present && !listed[l] {
			t.Fatalf("round %d: acknowledged lens %q is gone", round, name(l))
		}
		if !st.present {
			continue
		}
		want := notFoundAnswer
		if v, ok := evalCrashChain(st.chain, []float64{10, 25}); ok {
			want = bitsAnswer(fb(v))
		}
		got := c.call(protocol.OpQueryLens, queryP(l, 2))
		if got.op != want.op || !slices.Equal(got.payload, want.payload) {
			t.Fatalf("round %d: lens %q (%v) answers %v %x, want %x", round, name(l), st.chain, got, got.payload, want.payload)
		}
	}
}

func (m *lensModel) counts() (present, dropped int) {
	for _, st := range m.lenses {
		if st.present {
			present++
		}
		if st.dropped {
			dropped++
		}
	}
	return present, dropped
}

// evalCrashChain is the reference for the crash test's chains over the source's values,
// oldest first: every step maps the whole sequence; returns and log_return use up a point.
func evalCrashChain(chain []string, xs []float64) (float64, bool) {
	xs = slices.Clone(xs)
	for _, tr := range chain {
		switch tr {
		case "returns", "log_return":
			if len(xs) < 2 {
				return 0, false
			}
			for i := len(xs) - 1; i > 0; i-- {
				if tr == "returns" {
					xs[i] = float64(xs[i]/xs[i-1]) - 1
				} else {
					xs[i] = math.Log(xs[i] / xs[i-1])
				}
			}
			xs = xs[1:]
		default:
			for i, x := range xs {
				switch tr {
				case "celsius_to_fahrenheit":
					xs[i] = float64(float64(x*9)/5) + 32
				case "celsius_to_kelvin":
					xs[i] = x + 273.15
				case "meters_to_feet":
					xs[i] = x * 3.28084
				}
			}
		}
	}
	return xs[len(xs)-1], true
}

// name is a label as the test wrote it, for messages.
func name(l protocol.Label) string { return strings.TrimRight(string(l[:]), "\x00") }
