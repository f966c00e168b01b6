package client_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/client/clienttest"
	"github.com/taudb/tau/pkg/protocol"
)

// dial connects to addr with the development certificate and closes the connection at cleanup.
func dial(t *testing.T, addr string, opts *client.Options) *client.Conn {
	t.Helper()
	c, err := client.Dial(context.Background(), addr, protocol.DevCertificate, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// fake starts a fake server with a hook and returns its address.
func fake(t *testing.T, hook clienttest.Hook) string {
	return clienttest.Start(t, hook).Addr
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := dial(t, serverAddr(t), nil)
	l := protocol.LabelFromString("cpu")
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := c.Create(ctx, l); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := c.Append(ctx, l, 10, 1.5); err != nil {
		t.Fatalf("Append: %v", err)
	}
	v, found, err := c.Query(ctx, l, 10)
	if err != nil || !found || v != 1.5 {
		t.Fatalf("Query(10) = %v, %v, %v; want 1.5, true, nil", v, found, err)
	}
	if _, found, err := c.Query(ctx, l, 11); err != nil || found {
		t.Fatalf("Query(11) = found %v, %v; want not found", found, err)
	}
	if err := c.Drop(ctx, l); err != nil {
		t.Fatalf("Drop: %v", err)
	}
}

func TestStatusesOfTheRealOperations(t *testing.T) {
	ctx := context.Background()
	c := dial(t, serverAddr(t), nil)
	l := protocol.LabelFromString("statuses")
	must(t, c.Create(ctx, l))
	must(t, c.Append(ctx, l, 100, 1))
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"create twice", c.Create(ctx, l), client.ErrSeriesAlreadyExists},
		{"append older", c.Append(ctx, l, 99, 1), client.ErrOutOfOrder},
		{"append same ts", c.Append(ctx, l, 100, 1), client.ErrOutOfOrder},
		{"drop missing", c.Drop(ctx, protocol.LabelFromString("none")), client.ErrSeriesNotFound},
		{"append missing", c.Append(ctx, protocol.LabelFromString("none"), 1, 1), client.ErrSeriesNotFound},
		{"query missing", queryErr(c, protocol.LabelFromString("none")), client.ErrSeriesNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.want) {
				t.Fatalf("got %v, want %v", tc.err, tc.want)
			}
		})
	}
}

func queryErr(c *client.Conn, l protocol.Label) error {
	_, _, err := c.Query(context.Background(), l, 1)
	return err
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Every status code maps to its sentinel and says what it means.
func TestEveryStatusHasASentinelAndAMeaning(t *testing.T) {
	sentinels := map[protocol.Status]error{
		protocol.StatusBadMagic: client.ErrBadMagic, protocol.StatusBadVersion: client.ErrBadVersion,
		protocol.StatusBadOpcode: client.ErrBadOpcode, protocol.StatusPayloadTooLarge: client.ErrPayloadTooLarge,
		protocol.StatusNotAuthenticated: client.ErrNotAuthenticated, protocol.StatusAuthFailed: client.ErrAuthFailed,
		protocol.StatusSeriesNotFound: client.ErrSeriesNotFound, protocol.StatusSeriesAlreadyExists: client.ErrSeriesAlreadyExists,
		protocol.StatusInvalidPayload: client.ErrInvalidPayload, protocol.StatusInternalError: client.ErrInternalError,
		protocol.StatusOutOfOrder: client.ErrOutOfOrder, protocol.StatusLensNotFound: client.ErrLensNotFound,
		protocol.StatusLensAlreadyExists: client.ErrLensAlreadyExists, protocol.StatusBusy: client.ErrBusy,
	}
	var status atomic.Uint32
	addr := fake(t, func(r clienttest.Request) *clienttest.Reply {
		if r.Op != protocol.OpPing {
			return nil
		}
		return &clienttest.Reply{Frame: protocol.AppendErr(nil, protocol.Status(status.Load()))}
	})
	c := dial(t, addr, &client.Options{MaxRetries: -1})
	for s, sentinel := range sentinels {
		t.Run(s.String(), func(t *testing.T) {
			status.Store(uint32(s))
			err := c.Ping(context.Background())
			var se *client.StatusError
			if !errors.As(err, &se) || se.Status != s || se.Op != protocol.OpPing {
				t.Fatalf("got %#v, want a *StatusError for %v", err, s)
			}
			if !errors.Is(err, sentinel) {
				t.Fatalf("errors.Is(%v, %v) is false", err, sentinel)
			}
			for other, o := range sentinels {
				if other != s && errors.Is(err, o) {
					t.Fatalf("%v also matches %v", err, o)
				}
			}
			want := "tau: PING: " + s.String() + ": " + client.Meaning(s)
			if err.Error() != want || client.Meaning(s) == client.Meaning(0x99) {
				t.Fatalf("message %q, want %q", err, want)
			}
		})
	}
}

// Values keep their exact IEEE-754 bits, NaN payloads included.
func TestValuesKeepTheirBits(t *testing.T) {
	ctx := context.Background()
	c := dial(t, serverAddr(t), nil)
	l := protocol.LabelFromString("bits")
	must(t, c.Create(ctx, l))
	values := []uint64{
		0x7ff8000000000001, // quiet NaN with a payload
		0x7ff0000000000001, // signalling NaN
		0xfff8dead0000beef, // negative NaN with a payload
		0x8000000000000000, // -0
		0x7ff0000000000000, // +Inf
		0xfff0000000000000, // -Inf
		0x0000000000000001, // smallest subnormal
		math.Float64bits(math.Pi),
	}
	for i, bits := range values {
		ts := int64(i + 1)
		must(t, c.Append(ctx, l, ts, math.Float64frombits(bits)))
		v, found, err := c.Query(ctx, l, ts)
		if err != nil || !found || math.Float64bits(v) != bits {
			t.Errorf("float path: %#x came back as %#x (found %v, %v)", bits, math.Float64bits(v), found, err)
		}
		got, _, err := c.QueryBits(ctx, l, ts)
		if err != nil || got != bits {
			t.Errorf("bits path: %#x came back as %#x (%v)", bits, got, err)
		}
	}
	must(t, c.AppendBits(ctx, l, 100, 0x7ff4000000000abc))
	if got, _, _ := c.QueryBits(ctx, l, 100); got != 0x7ff4000000000abc {
		t.Errorf("AppendBits: got %#x", got)
	}
}

// Many goroutines share one connection; every one gets its own answer (R1).
func TestPipelinedConcurrentCallersGetTheirOwnAnswers(t *testing.T) {
	ctx := context.Background()
	c := dial(t, serverAddr(t), &client.Options{MaxInFlight: 8})
	const workers, points = 16, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pipelineWorker(ctx, c, w, points)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func pipelineWorker(ctx context.Context, c *client.Conn, w, points int) error {
	l := protocol.LabelFromString(fmt.Sprintf("worker-%d", w))
	if err := c.Create(ctx, l); err != nil {
		return err
	}
	for i := range points {
		if err := c.Append(ctx, l, int64(i), float64(w*1000+i)); err != nil {
			return fmt.Errorf("worker %d append %d: %w", w, i, err)
		}
	}
	for i := range points {
		v, found, err := c.Query(ctx, l, int64(i))
		if err != nil {
			return fmt.Errorf("worker %d query %d: %w", w, i, err)
		}
		if !found || v != float64(w*1000+i) {
			return fmt.Errorf("worker %d query %d = %v %v", w, i, v, found)
		}
	}
	return nil
}

// A batch keeps its order: a thousand appends to one series in one Do are all in order.
func TestBatchKeepsOrder(t *testing.T) {
	ctx := context.Background()
	c := dial(t, serverAddr(t), &client.Options{MaxInFlight: 16})
	l := protocol.LabelFromString("batch")
	var b client.Batch
	b.Create(l)
	for i := range 1000 {
		b.Append(l, int64(i), float64(i))
	}
	b.Append(l, 5, 0) // out of order
	b.Query(l, 999)
	b.Query(protocol.LabelFromString("none"), 1)
	b.Ping()
	if err := c.Do(ctx, &b); err != nil {
		t.Fatal(err)
	}
	r := b.Results()
	if len(r) != b.Len() {
		t.Fatalf("%d results for %d requests", len(r), b.Len())
	}
	for i, res := range r[:1001] {
		if res.Err != nil {
			t.Fatalf("request %d: %v", i, res.Err)
		}
	}
	if !errors.Is(r[1001].Err, client.ErrOutOfOrder) {
		t.Errorf("late append: %v", r[1001].Err)
	}
	if q := r[1002]; q.Err != nil || !q.Found || q.Value() != 999 {
		t.Errorf("query: %+v", q)
	}
	if !errors.Is(r[1003].Err, client.ErrSeriesNotFound) || r[1004].Err != nil {
		t.Errorf("tail: %v, %v", r[1003].Err, r[1004].Err)
	}
	b.Reset()
	if b.Len() != 0 || len(b.Results()) != 0 {
		t.Errorf("Reset left %d requests", b.Len())
	}
}

func TestBusyIsRetriedWithBackoff(t *testing.T) {
	var busyLeft, pings atomic.Int32
	addr := fake(t, func(r clienttest.Request) *clienttest.Reply {
		if r.Op != protocol.OpPing {
			return nil
		}
		pings.Add(1)
		if busyLeft.Add(-1) >= 0 {
			return clienttest.Busy()
		}
		return nil
	})
	fast := client.Options{RetryBackoff: time.Microsecond, RetryBackoffMax: time.Millisecond}
	cases := []struct {
		name      string
		retries   int
		busy      int32
		wantErr   error
		wantPings int32
	}{
		{"recovers", 5, 3, nil, 4},
		{"gives up", 2, 10, client.ErrBusy, 3},
		{"disabled", -1, 1, client.ErrBusy, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := fast
			o.MaxRetries = tc.retries
			c := dial(t, addr, &o)
			busyLeft.Store(tc.busy)
			pings.Store(0)
			err := c.Ping(context.Background())
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if pings.Load() != tc.wantPings {
				t.Fatalf("server saw %d pings, want %d", pings.Load(), tc.wantPings)
			}
		})
	}
}

// The backoff wait ends with the context.
func TestBusyBackoffHonoursContext(t *testing.T) {
	addr := fake(t, func(r clienttest.Request) *clienttest.Reply {
		if r.Op == protocol.OpPing {
			return clienttest.Busy()
		}
		return nil
	})
	c := dial(t, addr, &client.Options{MaxRetries: 1000, RetryBackoff: time.Hour, RetryBackoffMax: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
}

// A request whose context ends returns ctx.Err(); its late answer is discarded in order and the
// next request gets its own answer.
func TestExpiredRequestLeavesTheConnectionConsistent(t *testing.T) {
	release := make(chan struct{})
	slow := protocol.LabelFromString("slow")
	addr := fake(t, func(r clienttest.Request) *clienttest.Reply {
		if r.Op == protocol.OpQueryPoint && protocol.SeriesRequest(r.Payload) == slow {
			<-release
		}
		return nil
	})
	ctx := context.Background()
	c := dial(t, addr, nil)
	fastL := protocol.LabelFromString("fast")
	for _, l := range []protocol.Label{slow, fastL} {
		must(t, c.Create(ctx, l))
	}
	must(t, c.Append(ctx, slow, 1, 111))
	must(t, c.Append(ctx, fastL, 1, 222))

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, _, err := c.Query(short, slow, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow query: %v, want DeadlineExceeded", err)
	}
	// Already expired: fails at once, sends nothing.
	if err := c.Ping(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired ping: %v", err)
	}
	close(release)
	v, found, err := c.Query(ctx, fastL, 1)
	if err != nil || !found || v != 222 {
		t.Fatalf("next query = %v %v %v; want 222 (the slow answer must not be taken for it)", v, found, err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("connection broken: %v", err)
	}
}

// With MaxInFlight requests unanswered, the next request waits unsent, and its context can end
// the wait.
func TestInFlightIsBounded(t *testing.T) {
	release := make(chan struct{})
	var seen atomic.Int32
	addr := fake(t, func(r clienttest.Request) *clienttest.Reply {
		if r.Op == protocol.OpPing {
			seen.Add(1)
			<-release
		}
		return nil
	})
	c := dial(t, addr, &client.Options{MaxInFlight: 1})
	first := make(chan error, 1)
	go func() { first <- c.Ping(context.Background()) }()
	for seen.Load() == 0 { // the first ping holds the only place
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := c.Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second ping: %v, want DeadlineExceeded while the first is in flight", err)
	}
	close(release)
	must(t, <-first)
	must(t, c.Ping(context.Background()))
	if n := seen.Load(); n != 2 {
		t.Fatalf("server saw %d pings, want 2 (the timed-out one was never sent)", n)
	}
}

func TestCloseSendsDisconnect(t *testing.T) {
	disconnected := make(chan struct{})
	addr := fake(t, func(r clienttest.Request) *clienttest.Reply {
		if r.Op == protocol.OpDisconnect {
			close(disconnected)
		}
		return nil
	})
	c, err := client.Dial(context.Background(), addr, protocol.DevCertificate, nil)
	must(t, err)
	must(t, c.Close())
	select {
	case <-disconnected:
	default:
		t.Fatal("Close returned before the server saw DISCONNECT")
	}
	if err := c.Ping(context.Background()); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Ping after Close: %v, want ErrClosed", err)
	}
	must(t, c.Close()) // idempotent
}

// Answers to requests made before Close still arrive.
func TestCloseWaitsForRequestsInFlight(t *testing.T) {
	addr := fake(t, func(r clienttest.Request) *clienttest.Reply {
		if r.Op == protocol.OpPing {
			time.Sleep(5 * time.Millisecond)
		}
		return nil
	})
	c, err := client.Dial(context.Background(), addr, protocol.DevCertificate, nil)
	must(t, err)
	var wg sync.WaitGroup
	var started sync.WaitGroup
	for range 5 {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			err := c.Ping(context.Background())
			if err != nil && !errors.Is(err, client.ErrClosed) {
				t.Error(err)
			}
		}()
	}
	started.Wait()
	_ = c.Close()
	wg.Wait()
}

func TestBrokenConnection(t *testing.T) {
	addr := fake(t, func(r clienttest.Request) *clienttest.Reply {
		if r.Op == protocol.OpCreateSeries {
			return &clienttest.Reply{Close: true}
		}
		return nil
	})
	c := dial(t, addr, nil)
	err := c.Create(context.Background(), protocol.LabelFromString("x"))
	var ce *client.ConnError
	if !errors.As(err, &ce) || ce.Dial {
		t.Fatalf("got %v, want a *ConnError", err)
	}
	if !strings.Contains(err.Error(), "the server closed the connection") {
		t.Errorf("message %q", err)
	}
	if c.Err() == nil {
		t.Error("Err() is nil on a broken connection")
	}
	if err := c.Ping(context.Background()); !errors.As(err, &ce) {
		t.Errorf("Ping on a broken connection: %v", err)
	}
}

func TestUnexpectedAnswers(t *testing.T) {
	addr := fake(t, func(r clienttest.Request) *clienttest.Reply {
		switch r.Op {
		case protocol.OpPing: // OK instead of PONG
			return &clienttest.Reply{Frame: protocol.AppendFrame(nil, protocol.OpOK, nil)}
		case protocol.OpQueryPoint: // found without a value
			return &clienttest.Reply{Frame: protocol.AppendFrame(nil, protocol.OpOK, []byte{1})}
		case protocol.OpDropSeries: // an answer and an extra frame nobody asked for
			ok := protocol.AppendFrame(nil, protocol.OpOK, nil)
			return &clienttest.Reply{Frame: append(ok, ok...)}
		}
		return nil
	})
	c := dial(t, addr, nil)
	ctx := context.Background()
	if err := c.Ping(ctx); !errors.Is(err, client.ErrUnexpectedAnswer) {
		t.Errorf("Ping: %v", err)
	}
	if _, _, err := c.Query(ctx, protocol.Label{}, 1); !errors.Is(err, client.ErrUnexpectedAnswer) {
		t.Errorf("Query: %v", err)
	}
	must(t, c.Drop(ctx, protocol.Label{}))
	waitBroken(t, c)
	if err := c.Err(); !errors.Is(err, client.ErrUnexpectedAnswer) {
		t.Errorf("after an unsolicited frame: %v", err)
	}
}

// An ERR nobody asked for (the server shutting down) breaks the connection and says why.
func TestUnsolicitedStatus(t *testing.T) {
	addr := fake(t, func(r clienttest.Request) *clienttest.Reply {
		if r.Op == protocol.OpPing {
			pong := protocol.AppendFrame(nil, protocol.OpPong, nil)
			return &clienttest.Reply{Frame: protocol.AppendErr(pong, protocol.StatusBusy), Close: true}
		}
		return nil
	})
	c := dial(t, addr, nil)
	must(t, c.Ping(context.Background()))
	waitBroken(t, c)
	err := c.Err()
	if !errors.Is(err, client.ErrBusy) || !strings.Contains(err.Error(), "ended the connection with busy") {
		t.Fatalf("got %v", err)
	}
}

func waitBroken(t *testing.T, c *client.Conn) {
	t.Helper()
	for c.Err() == nil {
		time.Sleep(time.Millisecond)
	}
}

func TestDialFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("refused", func(t *testing.T) {
		s := clienttest.Start(t, nil)
		s.Close()
		_, err := client.Dial(ctx, s.Addr, protocol.DevCertificate, nil)
		var ce *client.ConnError
		if !errors.As(err, &ce) || !ce.Dial || !strings.Contains(err.Error(), "cannot connect to "+s.Addr) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("wrong certificate", func(t *testing.T) {
		_, err := client.Dial(ctx, serverAddr(t), protocol.Certificate{0xee}, nil)
		if !errors.Is(err, client.ErrAuthFailed) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("busy then accepted", func(t *testing.T) {
		var n atomic.Int32
		addr := fake(t, func(r clienttest.Request) *clienttest.Reply {
			if r.Op == protocol.OpConnect && n.Add(1) <= 2 {
				return &clienttest.Reply{Frame: protocol.AppendErr(nil, protocol.StatusBusy), Close: true}
			}
			return nil
		})
		c := dial(t, addr, &client.Options{RetryBackoff: time.Microsecond})
		must(t, c.Ping(ctx))
		if n.Load() != 3 {
			t.Fatalf("%d CONNECTs, want 3", n.Load())
		}
	})
	t.Run("no answer", func(t *testing.T) {
		addr := fake(t, func(clienttest.Request) *clienttest.Reply {
			time.Sleep(200 * time.Millisecond)
			return nil
		})
		_, err := client.Dial(ctx, addr, protocol.DevCertificate, &client.Options{DialTimeout: 20 * time.Millisecond})
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestPool(t *testing.T) {
	var creates atomic.Int32
	addr := fake(t, func(r clienttest.Request) *clienttest.Reply {
		if r.Op == protocol.OpCreateSeries && creates.Add(1) == 1 {
			return &clienttest.Reply{Close: true} // break the first connection used
		}
		return nil
	})
	ctx := context.Background()
	p := client.NewPool(addr, protocol.DevCertificate, 1, nil)
	defer func() { _ = p.Close() }()
	l := protocol.LabelFromString("pooled")
	var ce *client.ConnError
	if err := p.Create(ctx, l); !errors.As(err, &ce) {
		t.Fatalf("first create: %v", err)
	}
	must(t, p.Create(ctx, l)) // a fresh connection replaced the broken one
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Ping(ctx); err != nil {
				t.Error(err)
			}
			if _, _, err := p.Query(ctx, l, int64(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	_ = p.Close()
	if err := p.Ping(ctx); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestParseLabel(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	cases := []struct {
		in      string
		want    protocol.Label
		wantErr string
	}{
		{in: "cpu", want: protocol.LabelFromString("cpu")},
		{in: "", want: protocol.Label{}},
		{in: strings.Repeat("x", 32), want: protocol.LabelFromString(strings.Repeat("x", 32))},
		{in: strings.Repeat("x", 33), wantErr: "at most 32"},
		{in: "hex:" + hex64, want: func() (l protocol.Label) {
			for i := range l {
				l[i] = 0xab
			}
			return l
		}()},
		{in: "hex:abc", wantErr: "64 hex digits"},
		{in: "hex:" + strings.Repeat("zz", 32), wantErr: "not hex"},
	}
	for _, tc := range cases {
		got, err := client.ParseLabel(tc.in)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseLabel(%q) error %v, want %q", tc.in, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("ParseLabel(%q) = %x, %v", tc.in, got, err)
		}
	}
}
