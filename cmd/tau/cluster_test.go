package main

import (
	"net"
	"strings"
	"testing"

	"github.com/taudb/tau/internal/testenv/tauproc"
)

// TestClusterCommands runs tau cluster list, add and remove against real members: a founder
// alone, and a joiner it adds and removes again.
func TestClusterCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tau-server binaries")
	}
	peerA, peerB := freePort(t), freePort(t)
	founders := "TAU_INITIAL_CLUSTER=a=" + peerA
	a := tauproc.Start(t, tauproc.Options{Env: []string{founders, "TAU_NODE_NAME=a", "TAU_PEER_ADDRESS=" + peerA}})
	b := tauproc.Start(t, tauproc.Options{Env: []string{founders, "TAU_NODE_NAME=b", "TAU_PEER_ADDRESS=" + peerB}, Unready: true})
	c := &cli{t: t, env: map[string]string{"TAU_LISTEN_ADDRESS": a.Addr, "TAU_HTTP_ADDRESS": a.HTTPAddr}}
	o := c.expect(0, "voter", "", "cluster", "list")
	if lines := strings.Split(strings.TrimSpace(o.stdout), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "a ") || !strings.HasSuffix(lines[1], "*") {
		t.Fatalf("tau cluster list on a founder alone:\n%s", o.stdout)
	}
	o = c.expect(0, "b ", "", "cluster", "add", "b", peerB)
	if !strings.Contains(o.stdout, peerB) || strings.Count(o.stdout, "voter") != 2 {
		t.Fatalf("tau cluster add b: the list does not show b as a voter:\n%s", o.stdout)
	}
	b.WaitReady()
	c.expect(1, "", "exists", "cluster", "add", "b", peerB)
	c.expect(2, "", "cluster add wants NAME HOST:PORT", "cluster", "add", "b")
	o = c.expect(0, "a ", "", "cluster", "remove", "b")
	if strings.Contains(o.stdout, "b ") {
		t.Fatalf("tau cluster remove b: b is still listed:\n%s", o.stdout)
	}
	if code := b.Wait(tauproc.UntilHang); code != 0 {
		t.Fatalf("the removed member exited %d, want 0", code)
	}
	c.expect(1, "", "no member named b", "cluster", "remove", "b")
	c.expect(1, "", "unauthorized", "--cert", strings.Repeat("ab", 32), "cluster", "list")
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}
