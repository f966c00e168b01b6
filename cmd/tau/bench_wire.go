package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/protocol"
)

// wireConn drives one TAU connection the way respConn drives a RESP one: the queued requests
// are encoded into a buffered writer, flushed with one write, and their answers read back in
// order on the same goroutine. tau bench uses it when every test is PING, APPEND or
// QUERY_POINT, the requests hack/bench.sh compares with Redis and the no-op server, so that
// both sides of a comparison pay the same client cost. (pkg/client, which tauConn uses for
// APPEND_BATCH and QUERY_RANGE, hands each answer from a reader goroutine to its caller: it
// serves any number of goroutines on one connection, and at -P 16 that cost the client 20-30%
// of the throughput a single-goroutine loop gets.)
type wireConn struct {
	addr    string
	nc      net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	timeout time.Duration
	labels  []protocol.Label
	ops     []protocol.Opcode // the queued requests, for checking their answers
	scratch []byte
	missed  int64 // queries answered "no such point"
}

// dialWire connects (over TLS with a tlsConfig) and authenticates.
func dialWire(addr string, cert protocol.Certificate, tlsConfig *tls.Config, timeout time.Duration, labels []protocol.Label) (*wireConn, error) {
	nc, err := dialBench(addr, tlsConfig, timeout)
	if err != nil {
		return nil, &client.ConnError{Addr: addr, Dial: true, Err: err}
	}
	w := &wireConn{addr: addr, nc: nc, timeout: timeout, labels: labels,
		br: bufio.NewReaderSize(nc, 32<<10), bw: bufio.NewWriterSize(nc, 32<<10)}
	w.queue(protocol.OpConnect, cert[:])
	errs := map[string]int64{}
	if err := w.exec(context.Background(), errs); err != nil {
		_ = nc.Close()
		return nil, err
	}
	if len(errs) > 0 {
		_ = nc.Close()
		return nil, &client.StatusError{Op: protocol.OpConnect, Status: protocol.StatusAuthFailed}
	}
	return w, nil
}

// dialBench dials addr, with a TLS handshake when tlsConfig is set.
func dialBench(addr string, tlsConfig *tls.Config, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	if tlsConfig == nil {
		return d.Dial("tcp", addr)
	}
	if tlsConfig.ServerName == "" {
		tlsConfig = tlsConfig.Clone()
		tlsConfig.ServerName, _, _ = net.SplitHostPort(addr)
	}
	return tls.DialWithDialer(d, "tcp", addr, tlsConfig)
}

// queue encodes one request.
func (w *wireConn) queue(op protocol.Opcode, payload []byte) {
	w.ops = append(w.ops, op)
	w.scratch = protocol.AppendFrame(w.scratch[:0], op, payload)
	_, _ = w.bw.Write(w.scratch) // an error sticks in bw and comes back from Flush
}

func (w *wireConn) add(op benchOp, series int, ts int64, v float64) {
	var p [protocol.LabelSize + 16]byte
	switch op {
	case opAppend:
		w.queue(protocol.OpAppend, protocol.EncodeAppend(p[:0], w.labels[series], ts, v))
	case opQuery:
		w.queue(protocol.OpQueryPoint, protocol.EncodeQuery(p[:0], w.labels[series], ts))
	default:
		w.queue(protocol.OpPing, nil)
	}
}

// create queues a CREATE_SERIES (prepare).
func (w *wireConn) create(l protocol.Label) { w.queue(protocol.OpCreateSeries, l[:]) }

// addBatch is never called: tau bench uses pkg/client when a test is batch or range.
func (w *wireConn) addBatch(int) []client.Point {
	panic("tau bench: APPEND_BATCH on a wire connection")
}

func (w *wireConn) exec(_ context.Context, errs map[string]int64) error {
	defer func() { w.ops = w.ops[:0] }()
	_ = w.nc.SetDeadline(time.Now().Add(w.timeout))
	if err := w.bw.Flush(); err != nil {
		return &client.ConnError{Addr: w.addr, Err: err}
	}
	var hdr [protocol.HeaderSize]byte
	var p [9]byte // the longest answer here: QUERY_POINT found (R8)
	for _, op := range w.ops {
		if _, err := io.ReadFull(w.br, hdr[:]); err != nil {
			return &client.ConnError{Addr: w.addr, Err: err}
		}
		h, err := protocol.DecodeHeader(&hdr)
		if err != nil || int(h.Length) > len(p) {
			return fmt.Errorf("%w: %v frame of %d bytes to %s", client.ErrUnexpectedAnswer, h.Opcode, h.Length, op)
		}
		if _, err := io.ReadFull(w.br, p[:h.Length]); err != nil {
			return &client.ConnError{Addr: w.addr, Err: err}
		}
		if err := w.answer(op, h, p[:h.Length], errs); err != nil {
			return err
		}
	}
	return nil
}

// answer checks one answer against its request and counts it.
func (w *wireConn) answer(op protocol.Opcode, h protocol.Header, p []byte, errs map[string]int64) error {
	switch {
	case h.Opcode == protocol.OpErr && len(p) == 1:
		errs[protocol.Status(p[0]).String()]++
	case op == protocol.OpPing && h.Opcode == protocol.OpPong && len(p) == 0:
	case op == protocol.OpQueryPoint && h.Opcode == protocol.OpOK:
		found, _, err := protocol.DecodeQueryAnswer(p)
		if err != nil {
			return fmt.Errorf("%w: %w", client.ErrUnexpectedAnswer, err)
		}
		if !found {
			w.missed++
		}
	case op != protocol.OpPing && op != protocol.OpQueryPoint && h.Opcode == protocol.OpOK && len(p) == 0:
	default:
		return fmt.Errorf("%w: %v frame of %d bytes to %s", client.ErrUnexpectedAnswer, h.Opcode, len(p), op)
	}
	return nil
}

func (w *wireConn) points() int64 { return 0 }

func (w *wireConn) notFound() int64 { return w.missed }

// Close says DISCONNECT, best effort, and closes the socket.
func (w *wireConn) Close() error {
	w.ops = w.ops[:0]
	w.queue(protocol.OpDisconnect, nil)
	_ = w.nc.SetDeadline(time.Now().Add(w.timeout))
	_ = w.bw.Flush()
	return w.nc.Close()
}
