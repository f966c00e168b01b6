// Command noopserver speaks TAU v1 without an engine: the baseline hack/bench.sh compares
// Tau's PING with. It parses frames exactly as tau-server does (pkg/protocol's Reader: magic,
// version, payload limit; then the session, opcode and payload-length checks in R0's order),
// checks CONNECT against the development certificate in constant time as the server's
// auth.Keeper does (once per connection: no weight in the throughput), and answers every
// request at once: PING with PONG, QUERY_POINT with "not found", every other request with OK. Answers to a pipelined batch go out in one write: it flushes only when the
// next frame is not buffered whole, as the server does. One goroutine per connection, so what
// it costs is parsing and system calls, nothing else.
//
// Usage: noopserver [-addr 127.0.0.1:7799] [-max-payload 1048576] [-idle-timeout 30s]
package main

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/pkg/protocol"
)

// bufSize is the read and write buffer of a connection, the server's size.
const bufSize = 32 << 10

type server struct {
	maxPayload uint32
	idle       time.Duration
}

func main() {
	addr := flag.String("addr", "127.0.0.1:7799", "loopback host:port to listen on")
	maxPayload := flag.Uint("max-payload", 1<<20, "largest request payload (TAU_MAX_PAYLOAD_BYTES)")
	idle := flag.Duration("idle-timeout", 30*time.Second, "close a connection idle this long (TAU_CONNECTION_TIMEOUT)")
	flag.Parse()
	if err := run(*addr, *maxPayload, *idle); err != nil {
		_, _ = fmt.Fprintln(os.Stderr, "noopserver:", err)
		os.Exit(1)
	}
}

func run(addr string, maxPayload uint, idle time.Duration) error {
	switch {
	case !config.IsLoopback(addr):
		return fmt.Errorf("-addr %q: must be a loopback host:port (it accepts the development certificate)", addr)
	case maxPayload < protocol.MaxRequestPayload || maxPayload > 1<<31-1:
		return fmt.Errorf("-max-payload %d: must be between %d and 2147483647", maxPayload, protocol.MaxRequestPayload)
	case idle <= 0:
		return errors.New("-idle-timeout must be positive")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = ln.Close()
	}()
	s := &server{maxPayload: uint32(maxPayload), idle: idle}
	_, _ = fmt.Fprintln(os.Stderr, "noopserver: listening on", ln.Addr())
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil // SIGINT or SIGTERM closed the listener
			}
			return err
		}
		go s.serve(nc)
	}
}

// serve answers one connection until it closes, an answer closes it, or a write fails.
func (s *server) serve(nc net.Conn) {
	defer func() { _ = nc.Close() }()
	r := protocol.NewReader(bufio.NewReaderSize(nc, bufSize), s.maxPayload)
	bw := bufio.NewWriterSize(nc, bufSize)
	authenticated := false
	var out []byte
	for {
		// The idle deadline is armed only before waiting for the client, once per batch.
		if !r.NextFrameBuffered() {
			_ = nc.SetReadDeadline(time.Now().Add(s.idle))
		}
		var closeAfter bool
		var err error
		out, closeAfter, err = s.request(r, out[:0], &authenticated)
		if err != nil {
			return // the client went away or idled out, possibly mid-frame
		}
		bw.Write(out)
		if closeAfter || !r.NextFrameBuffered() {
			_ = nc.SetWriteDeadline(time.Now().Add(s.idle))
			if bw.Flush() != nil || closeAfter {
				return
			}
		}
	}
}

// request reads one request and appends its answer to dst; closeAfter says the connection ends
// after it, err that it ended while reading.
func (s *server) request(r *protocol.Reader, dst []byte, authenticated *bool) (out []byte, closeAfter bool, err error) {
	h, err := r.ReadHeader()
	switch {
	case errors.Is(err, protocol.ErrBadMagic):
		return protocol.AppendErr(dst, protocol.StatusBadMagic), true, nil
	case errors.Is(err, protocol.ErrBadVersion):
		return protocol.AppendErr(dst, protocol.StatusBadVersion), true, nil
	case errors.Is(err, protocol.ErrPayloadTooLarge):
		return protocol.AppendErr(dst, protocol.StatusPayloadTooLarge), true, nil
	case err != nil:
		return dst, true, err
	}
	op := h.Opcode
	switch {
	case !*authenticated && op != protocol.OpConnect && op != protocol.OpDisconnect: // R0, R5
		return protocol.AppendErr(dst, protocol.StatusNotAuthenticated), true, nil
	case !op.IsRequest(): // R3
		return protocol.AppendErr(dst, protocol.StatusBadOpcode), false, r.Discard(h)
	case op.PayloadSize() >= 0 && int(h.Length) != op.PayloadSize(): // R4
		return protocol.AppendErr(dst, protocol.StatusInvalidPayload), false, r.Discard(h)
	case op.PayloadSize() < 0: // PING and DISCONNECT ignore their payload
		if err := r.Discard(h); err != nil {
			return dst, true, err
		}
		if op == protocol.OpDisconnect {
			return protocol.AppendHeader(dst, protocol.OpOK, 0), true, nil
		}
		return protocol.AppendHeader(dst, protocol.OpPong, 0), false, nil
	}
	p, err := r.ReadPayload(h)
	if err != nil {
		return dst, true, err
	}
	switch op {
	case protocol.OpConnect:
		*authenticated = subtle.ConstantTimeCompare(p, protocol.DevCertificate[:]) == 1
		if !*authenticated {
			return protocol.AppendErr(dst, protocol.StatusAuthFailed), true, nil
		}
	case protocol.OpQueryPoint:
		return protocol.AppendQueryAnswer(dst, false, 0), false, nil
	}
	return protocol.AppendHeader(dst, protocol.OpOK, 0), false, nil
}
