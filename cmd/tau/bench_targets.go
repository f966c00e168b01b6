package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/protocol"
)

// tauTarget measures a Tau server through pkg/client, one Batch of -P requests per exec.
type tauTarget struct {
	addr     string
	cert     protocol.Certificate
	tls      *tls.Config // nil: plaintext
	timeout  time.Duration
	pipeline int
	series   int
	npoints  int
	rangeEnd int64 // end of the range test's pages
	labels   []protocol.Label
	wire     bool // every test is PING, APPEND or QUERY_POINT: connections are wireConns
}

func (t *tauTarget) describe() string {
	if t.tls != nil {
		return "tau " + t.addr + " (TLS)"
	}
	return "tau " + t.addr
}

func (t *tauTarget) connect(n int) ([]benchConn, error) {
	t.labels = make([]protocol.Label, t.series)
	for i := range t.labels {
		t.labels[i] = protocol.LabelFromString(seriesName(i))
	}
	opts := &client.Options{MaxInFlight: max(256, t.pipeline), TLS: t.tls}
	conns := make([]benchConn, 0, n)
	for range n {
		if t.wire {
			w, err := dialWire(t.addr, t.cert, t.tls, t.timeout, t.labels)
			if err != nil {
				closeAll(conns)
				return nil, err
			}
			conns = append(conns, w)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
		c, err := client.Dial(ctx, t.addr, t.cert, opts)
		cancel()
		if err != nil {
			closeAll(conns)
			return nil, err
		}
		conns = append(conns, &tauConn{c: c, labels: t.labels, npoints: t.npoints, rangeEnd: t.rangeEnd})
	}
	return conns, nil
}

// prepare creates the series; ones left by an earlier run are fine (their timestamps are
// older than this run's, which start at the current time).
func (t *tauTarget) prepare(first benchConn, _ int) error {
	if w, ok := first.(*wireConn); ok {
		for _, l := range t.labels {
			w.create(l)
		}
		errs := map[string]int64{}
		if err := w.exec(context.Background(), errs); err != nil {
			return err
		}
		delete(errs, protocol.StatusSeriesAlreadyExists.String())
		for kind := range errs {
			return fmt.Errorf("tau bench: CREATE_SERIES answered %s", kind)
		}
		return nil
	}
	tc := first.(*tauConn)
	for _, l := range t.labels {
		tc.b.Create(l)
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
	defer cancel()
	err := tc.c.Do(ctx, &tc.b)
	if err != nil {
		return err
	}
	for _, r := range tc.b.Results() {
		if r.Err != nil && !errors.Is(r.Err, client.ErrSeriesAlreadyExists) {
			return r.Err
		}
	}
	tc.b.Reset()
	return nil
}

type tauConn struct {
	c        *client.Conn
	b        client.Batch
	labels   []protocol.Label
	npoints  int
	rangeEnd int64

	batches [][]client.Point // one slice per APPEND_BATCH queued: the Batch reads them in Do
	used    int              // batches in use by the queued requests
	ranges  []rangeReq       // QUERY_RANGE pages queued; the client reads pages one at a time
	page    []client.Point
	sent    int64 // points carried by batch and range requests
	queries bool  // the queued requests are QUERY_POINTs
	missed  int64 // queries answered "no such point"
}

// rangeReq is one queued QUERY_RANGE page.
type rangeReq struct {
	label protocol.Label
	from  int64
}

func (t *tauConn) add(op benchOp, series int, ts int64, v float64) {
	switch op {
	case opAppend:
		t.b.Append(t.labels[series], ts, v)
	case opQuery:
		t.b.Query(t.labels[series], ts)
		t.queries = true
	case opRange:
		t.ranges = append(t.ranges, rangeReq{label: t.labels[series], from: ts})
	default:
		t.b.Ping()
	}
}

// addBatch queues an APPEND_BATCH of the next spare slice of npoints points, which the caller
// fills before exec.
func (t *tauConn) addBatch(series int) []client.Point {
	if t.used == len(t.batches) {
		t.batches = append(t.batches, make([]client.Point, t.npoints))
	}
	pts := t.batches[t.used]
	t.used++
	t.b.AppendBatch(t.labels[series], pts)
	return pts
}

func (t *tauConn) exec(ctx context.Context, errs map[string]int64) error {
	defer t.reset()
	if t.b.Len() > 0 {
		if err := t.c.Do(ctx, &t.b); err != nil {
			return err
		}
	}
	for _, r := range t.b.Results() {
		if err := countStatus(r.Err, errs); err != nil {
			return err
		}
		if r.Err == nil && t.used > 0 {
			t.sent += int64(t.npoints) // a worker queues one kind per exec: these are batches
		}
		if r.Err == nil && t.queries && !r.Found {
			t.missed++
		}
	}
	for _, q := range t.ranges {
		pts, _, err := t.c.QueryRange(ctx, q.label, q.from, t.rangeEnd, &client.RangeOptions{PageSize: t.npoints}, t.page[:0])
		if err := countStatus(err, errs); err != nil {
			return err
		}
		t.page = pts
		t.sent += int64(len(pts))
	}
	return nil
}

// countStatus counts an error answer by its status; any other error means the connection failed.
func countStatus(err error, errs map[string]int64) error {
	if err == nil {
		return nil
	}
	var se *client.StatusError
	if !errors.As(err, &se) {
		return err
	}
	errs[se.Status.String()]++
	return nil
}

func (t *tauConn) reset() {
	t.b.Reset()
	t.used = 0
	t.ranges = t.ranges[:0]
	t.queries = false
}

func (t *tauConn) points() int64 { return t.sent }

func (t *tauConn) notFound() int64 { return t.missed }

func (t *tauConn) Close() error { return t.c.Close() }

// respTarget measures a redis-server with the nearest commands (see benchArgs).
type respTarget struct {
	addr    string
	timeout time.Duration
	series  int
	keys    [][]byte
}

func (t *respTarget) describe() string { return "redis " + t.addr }

func (t *respTarget) connect(n int) ([]benchConn, error) {
	t.keys = make([][]byte, t.series)
	for i := range t.keys {
		t.keys[i] = []byte(seriesName(i))
	}
	conns := make([]benchConn, 0, n)
	for range n {
		nc, err := net.DialTimeout("tcp", t.addr, t.timeout)
		if err != nil {
			closeAll(conns)
			return nil, &client.ConnError{Addr: t.addr, Dial: true, Err: err}
		}
		conns = append(conns, &respConn{addr: t.addr, nc: nc, keys: t.keys,
			br: bufio.NewReaderSize(nc, 32<<10), bw: bufio.NewWriterSize(nc, 32<<10)})
	}
	return conns, nil
}

// prepare checks that a RESP server is there: a PING must come back as a RESP reply.
func (t *respTarget) prepare(first benchConn, _ int) error {
	first.add(opPing, 0, 0, 0)
	errs := map[string]int64{}
	if err := first.exec(context.Background(), errs); err != nil {
		return err
	}
	if len(errs) > 0 {
		return fmt.Errorf("redis at %s refused PING: %v", t.addr, errs)
	}
	return nil
}

// respConn speaks just enough RESP2 for the benchmark, without allocating per request.
type respConn struct {
	addr    string
	nc      net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	keys    [][]byte
	queued  int
	scratch []byte
	missed  int64 // HGETs answered with a null reply
}

func (r *respConn) add(op benchOp, series int, ts int64, v float64) {
	r.queued++
	switch op {
	case opAppend:
		r.bw.WriteString("*4\r\n$4\r\nHSET\r\n")
		r.bulk(r.keys[series])
		r.bulk(strconv.AppendInt(r.scratch[:0], ts, 10))
		r.bulk(strconv.AppendFloat(r.scratch[:0], v, 'g', -1, 64))
	case opQuery:
		r.bw.WriteString("*3\r\n$4\r\nHGET\r\n")
		r.bulk(r.keys[series])
		r.bulk(strconv.AppendInt(r.scratch[:0], ts, 10))
	default:
		r.bw.WriteString("*1\r\n$4\r\nPING\r\n")
	}
}

// bulk writes a bulk string. b may alias r.scratch; it is copied into the buffer before
// scratch is reused.
func (r *respConn) bulk(b []byte) {
	r.scratch = b[:0]
	r.bw.WriteByte('$')
	var n [20]byte
	r.bw.Write(strconv.AppendInt(n[:0], int64(len(b)), 10))
	r.bw.WriteString("\r\n")
	r.bw.Write(b)
	r.bw.WriteString("\r\n")
}

// addBatch is never called: validate refuses -t batch with --resp.
func (r *respConn) addBatch(int) []client.Point { panic("tau bench: APPEND_BATCH over RESP") }

func (r *respConn) exec(_ context.Context, errs map[string]int64) error {
	n := r.queued
	r.queued = 0
	if err := r.bw.Flush(); err != nil {
		return &client.ConnError{Addr: r.addr, Err: err}
	}
	for range n {
		if err := r.reply(errs); err != nil {
			return &client.ConnError{Addr: r.addr, Err: err}
		}
	}
	return nil
}

var errNotRESP = errors.New("the answer is not RESP (is this a redis-server?)")

// reply reads one reply; an error reply is counted by its first word (ERR, WRONGTYPE, …).
func (r *respConn) reply(errs map[string]int64) error {
	line, err := r.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return errNotRESP
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+', ':':
		return nil
	case '-':
		errs[firstWord(body)]++
		return nil
	case '$':
		n, err := strconv.Atoi(string(body))
		if err != nil {
			return errNotRESP
		}
		if n < 0 {
			r.missed++ // a null bulk string: only HGET of a missing field answers one
			return nil
		}
		_, err = r.br.Discard(n + 2)
		return err
	case '*':
		n, err := strconv.Atoi(string(body))
		if err != nil {
			return errNotRESP
		}
		for range n {
			if err := r.reply(errs); err != nil {
				return err
			}
		}
		return nil
	}
	return errNotRESP
}

func firstWord(b []byte) string {
	for i, c := range b {
		if c == ' ' {
			return string(b[:i])
		}
	}
	return string(b)
}

// points: RESP has no batch or range test.
func (r *respConn) points() int64 { return 0 }

func (r *respConn) notFound() int64 { return r.missed }

func (r *respConn) Close() error { return r.nc.Close() }
