package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taudb/tau/internal/testenv/hang"
	"github.com/taudb/tau/internal/testenv/tauproc"
)

// testCluster is a cluster of real tau-server processes on loopback, built once by the
// harness: each member has its own data directory, peer port and name.
type testCluster struct {
	t     *testing.T
	names []string
	peers []string // peer addresses
	dirs  []string
	procs []*tauproc.Process
	env   []string
}

// newTestCluster starts n founding members and waits until every one is ready.
func newTestCluster(t *testing.T, n int, env ...string) *testCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a cluster of binaries")
	}
	c := &testCluster{t: t, env: env}
	var founders []string
	for i := range n {
		c.names = append(c.names, fmt.Sprintf("m%d", i))
		c.peers = append(c.peers, freeAddr(t))
		c.dirs = append(c.dirs, t.TempDir())
		c.procs = append(c.procs, nil)
		founders = append(founders, c.names[i]+"="+c.peers[i])
	}
	c.env = append(c.env, "TAU_INITIAL_CLUSTER="+strings.Join(founders, ","))
	for i := range n {
		c.start(i)
	}
	for i := range n {
		c.procs[i].WaitReady()
	}
	return c
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

// start runs member i on its directory, without waiting for it to be ready.
func (c *testCluster) start(i int) *tauproc.Process {
	env := append([]string{"TAU_NODE_NAME=" + c.names[i], "TAU_PEER_ADDRESS=" + c.peers[i]}, c.env...)
	c.procs[i] = tauproc.Start(c.t, tauproc.Options{DataDir: c.dirs[i], Env: env, Unready: true})
	return c.procs[i]
}

// restart starts member i again and waits until it is ready.
func (c *testCluster) restart(i int) {
	c.start(i).WaitReady()
}

func (c *testCluster) addr(i int) string { return c.procs[i].Addr }

// metric reads one sample of member i's /metrics: the value of the line that starts with
// name followed by a space; ok is false when the member does not answer or has no such line.
func (c *testCluster) metric(i int, name string) (float64, bool) {
	client := &http.Client{Timeout: time.Second}
	resp, err := client.Get("http://" + c.procs[i].HTTPAddr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// leader waits until exactly one of the members in among says it leads, and returns it.
func (c *testCluster) leader(among ...int) int {
	c.t.Helper()
	if len(among) == 0 {
		for i := range c.procs {
			among = append(among, i)
		}
	}
	for !hang.Passed(c.t) {
		found := -1
		count := 0
		for _, i := range among {
			if v, ok := c.metric(i, "tau_cluster_is_leader"); ok && v == 1 {
				found = i
				count++
			}
		}
		if count == 1 {
			return found
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatal("no single leader before the test binary's deadline")
	return -1
}

// others is every member but the ones given.
func (c *testCluster) others(not ...int) []int {
	var out []int
	for i := range c.procs {
		skip := false
		for _, n := range not {
			skip = skip || i == n
		}
		if !skip {
			out = append(out, i)
		}
	}
	return out
}

// stopProcess pauses (SIGSTOP) or resumes (SIGCONT) member i.
func (c *testCluster) signal(i int, sig syscall.Signal) { c.procs[i].Signal(sig) }
