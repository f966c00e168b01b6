package e2e

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net"
	"strings"
	"testing"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/internal/testenv/hang"
	"github.com/taudb/tau/pkg/protocol"
)

// answer is one decoded server frame.
type answer struct {
	op      protocol.Opcode
	payload []byte
}

var (
	okAnswer   = answer{protocol.OpOK, []byte{}}
	pongAnswer = answer{protocol.OpPong, []byte{}}
)

func errAnswer(s protocol.Status) answer { return answer{protocol.OpErr, []byte{byte(s)}} }

func foundAnswer(v float64) answer {
	return answer{protocol.OpOK, binary.BigEndian.AppendUint64([]byte{1}, math.Float64bits(v))}
}

var notFoundAnswer = answer{protocol.OpOK, []byte{0}}

func (a answer) String() string {
	if a.op == protocol.OpErr && len(a.payload) == 1 {
		return "ERR " + protocol.Status(a.payload[0]).String()
	}
	return a.op.String() + " " + string(rune('0'+len(a.payload))) + "B"
}

// rawConn is a TAU connection driven frame by frame.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	// Only a hang fails on this deadline: the test binary's, not a wall clock a loaded machine
	// can pass while the server is merely slow.
	_ = nc.SetDeadline(hang.Deadline(t))
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// connect dials and authenticates with the development certificate.
func connect(t testing.TB, addr string) *rawConn {
	t.Helper()
	c := dial(t, addr)
	c.expect(c.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
	return c
}

func (c *rawConn) send(op protocol.Opcode, payload []byte) {
	c.t.Helper()
	c.sendRaw(protocol.AppendFrame(nil, op, payload))
}

func (c *rawConn) sendRaw(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// sendAsync writes b from another goroutine, so the test can read answers while the server's
// window and TCP push back on a large pipelined batch. A failed write is reported with Errorf
// (FailNow belongs to the test's own goroutine); the reads then fail too.
func (c *rawConn) sendAsync(b []byte) {
	go func() {
		if _, err := c.nc.Write(b); err != nil {
			c.t.Errorf("write: %v", err)
		}
	}()
}

func (c *rawConn) read() answer {
	c.t.Helper()
	a, err := c.tryRead()
	if err != nil {
		c.t.Fatalf("read answer: %v", err)
	}
	return a
}

func (c *rawConn) tryRead() (answer, error) {
	var h [protocol.HeaderSize]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return answer{}, err
	}
	if string(h[:3]) != "TAU" || h[3] != 1 || h[5] != 0 {
		return answer{}, errors.New("malformed answer header")
	}
	p := make([]byte, binary.BigEndian.Uint32(h[6:]))
	if _, err := io.ReadFull(c.br, p); err != nil {
		return answer{}, err
	}
	return answer{protocol.Opcode(h[4]), p}, nil
}

func (c *rawConn) call(op protocol.Opcode, payload []byte) answer {
	c.t.Helper()
	c.send(op, payload)
	return c.read()
}

func (c *rawConn) expect(got, want answer) {
	c.t.Helper()
	if got.op != want.op || !bytes.Equal(got.payload, want.payload) {
		c.t.Fatalf("got %v %x, want %v %x", got, got.payload, want, want.payload)
	}
}

// expectClosed checks the server closed the connection (EOF or reset, not a timeout).
func (c *rawConn) expectClosed() {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(hang.Deadline(c.t))
	a, err := c.tryRead()
	if err == nil {
		c.t.Fatalf("connection still open: got %v", a)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatal("connection not closed by the server")
	}
}

// expectOpen checks the connection still answers.
func (c *rawConn) expectOpen() {
	c.t.Helper()
	c.expect(c.call(protocol.OpPing, nil), pongAnswer)
}

func label(s string) protocol.Label { return protocol.LabelFromString(s) }

func series(l protocol.Label) []byte { return l[:] }

func appendP(l protocol.Label, ts int64, v float64) []byte {
	return protocol.EncodeAppend(nil, l, ts, v)
}

func appendBits(l protocol.Label, ts int64, bits uint64) []byte {
	return protocol.EncodeAppend(nil, l, ts, math.Float64frombits(bits))
}

func queryP(l protocol.Label, ts int64) []byte { return protocol.EncodeQuery(nil, l, ts) }

// start runs a server with an in-memory store unless the test needs the disk.
func start(t testing.TB, opts ...func(*config.Config)) *servertest.Server {
	return servertest.StartWith(t, servertest.MemoryStore(), opts...)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func grepLines(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// startOnDisk runs a server with the real on-disk store in a temp dir.
func startOnDisk(t testing.TB, opts ...func(*config.Config)) *servertest.Server {
	return servertest.Start(t, opts...)
}
