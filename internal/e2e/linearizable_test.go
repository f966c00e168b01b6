package e2e

import (
	"context"
	"errors"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/testenv/lincheck"
	"github.com/taudb/tau/internal/testenv/tauproc"
	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/protocol"
)

// TestR11_LinearizableAcrossSIGKILL runs concurrent clients against the binary under
// TAU_FSYNC=always, appending to a few shared series with timestamps that race (so some are
// out_of_order) and reading SERIES_INFO, while the process is SIGKILLed and restarted again and
// again. The history, appends cut off by a kill recorded as of unknown outcome, must be
// linearizable: no client may be told out_of_order because of a point a crash then takes back,
// and no read may see one (R11: no answer rests on an effect a crash can still take back).
func TestR11_LinearizableAcrossSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	dir := t.TempDir()
	h := lincheck.New()
	var clock atomic.Int64
	names := []string{"lin-a", "lin-b"}
	const rounds, clients = 8, 8
	for round := 0; round < rounds; round++ {
		p := tauproc.Start(t, tauproc.Options{DataDir: dir, Env: []string{"TAU_FSYNC=always"}})
		if round == 0 {
			createAll(t, p.Addr, names)
		}
		rng := rand.New(rand.NewSource(int64(round)))
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for c := 0; c < clients; c++ {
			wg.Add(1)
			crng := rand.New(rand.NewSource(rng.Int63()))
			go func() {
				defer wg.Done()
				linClient(p.Addr, round*clients+c, names, &clock, h, crng, stop)
			}()
		}
		time.Sleep(time.Duration(150+rng.Intn(300)) * time.Millisecond)
		p.Kill()
		close(stop)
		wg.Wait()
	}
	if got := h.CheckWith(lincheck.SeriesModel, 2*time.Minute); got != porcupine.Ok {
		t.Fatalf("the history of %d operations across %d SIGKILLs is %v", h.Len(), rounds, got)
	}
	t.Logf("%d operations across %d SIGKILLs linearizable", h.Len(), rounds)
}

func createAll(t *testing.T, addr string, names []string) {
	c := connect(t, addr)
	for _, n := range names {
		c.expect(c.call(protocol.OpCreateSeries, series(label(n))), okAnswer)
	}
}

// linClient appends and reads one request at a time until the server dies or stop closes.
func linClient(addr string, id int, names []string, clock *atomic.Int64, h *lincheck.History, rng *rand.Rand, stop <-chan struct{}) {
	ctx := context.Background()
	c, err := client.Dial(ctx, addr, protocol.Certificate(auth.DevCertificate), &client.Options{MaxRetries: -1})
	if err != nil {
		return
	}
	defer func() { _ = c.Close() }()
	for {
		select {
		case <-stop:
			return
		default:
		}
		name := names[rng.Intn(len(names))]
		l := protocol.LabelFromString(name)
		if rng.Intn(3) > 0 {
			ts := clock.Add(1) - int64(rng.Intn(3)) // some race an append of a later ts
			op := h.Call(id, lincheck.SeriesInput{Series: name, Append: true, TS: ts})
			err := c.AppendBits(ctx, l, ts, uint64(ts))
			switch {
			case err == nil:
				op.OkSeries(lincheck.SeriesOutput{})
			case errors.Is(err, client.ErrOutOfOrder):
				op.OkSeries(lincheck.SeriesOutput{OutOfOrder: true})
			case errors.Is(err, client.ErrBusy):
				op.Failed()
			default: // the connection died with the server, or internal_error: unknown
				op.SeriesOpUnknown()
				return
			}
			continue
		}
		op := h.Call(id, lincheck.SeriesInput{Series: name})
		info, err := c.SeriesInfo(ctx, l)
		if err != nil {
			op.Failed()
			return
		}
		op.OkSeries(lincheck.SeriesOutput{Last: info.Last})
	}
}
