package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/testenv/hang"
	"github.com/taudb/tau/internal/testenv/tauproc"
	"github.com/taudb/tau/internal/testenv/testpki"
	"github.com/taudb/tau/pkg/protocol"
)

// Cluster mode (PROTOCOL.md C1–C8) on real processes. In-process clusters under a
// fault-injecting network, and the linearizability checks, are in internal/cluster and
// internal/replica.

// TestC1_AnyNodeServesAnyRequest writes through one member and reads through the others,
// for every kind of request: no answer is a redirect, every member answers as one server.
func TestC1_AnyNodeServesAnyRequest(t *testing.T) {
	c := newTestCluster(t, 3)
	conns := []*rawConn{connect(t, c.addr(0)), connect(t, c.addr(1)), connect(t, c.addr(2))}
	l, lens := label("c1"), label("c1-lens")
	conns[0].expect(conns[0].call(protocol.OpCreateSeries, series(l)), okAnswer)
	conns[1].expect(conns[1].call(protocol.OpAppend, appendP(l, 10, 1.5)), okAnswer)
	conns[2].expect(conns[2].call(protocol.OpAppendBatch, batchP(l, bpt{20, math.Float64bits(2.5)}, bpt{30, math.Float64bits(3.5)})), okAnswer)
	for i, cn := range conns {
		cn.expect(cn.call(protocol.OpQueryPoint, queryP(l, 10)), foundAnswer(1.5))
		cn.expect(cn.call(protocol.OpQueryPoint, queryP(l, 30)), foundAnswer(3.5))
		info := cn.call(protocol.OpSeriesInfo, series(l))
		if info.op != protocol.OpOK || len(info.payload) < 8 || info.payload[7] != 3 {
			t.Fatalf("member %d: SERIES_INFO %v %x, want 3 points", i, info, info.payload)
		}
	}
	conns[1].mustLens(t, lens, l, "celsius_to_fahrenheit")
	conns[2].expect(conns[2].call(protocol.OpQueryLens, queryP(lens, 10)), foundAnswer(1.5*9/5+32))
	if got := conns[0].listLenses(nil); len(got) != 1 || got[0] != lens {
		t.Fatalf("LIST_LENSES on member 0: %v", got)
	}
	conns[2].expect(conns[2].call(protocol.OpDropSeries, series(l)), okAnswer)
	conns[0].expect(conns[0].call(protocol.OpQueryPoint, queryP(l, 10)), errAnswer(protocol.StatusSeriesNotFound))
	conns[1].expect(conns[1].call(protocol.OpCreateSeries, series(l)), okAnswer)
	conns[0].expect(conns[0].call(protocol.OpCreateSeries, series(l)), errAnswer(protocol.StatusSeriesAlreadyExists))
	// Every cluster metric the chart's alerts and dashboard read is exported by a member.
	_, text := get(t, "http://"+c.procs[0].HTTPAddr+"/metrics")
	for family := range clusterMetrics {
		if !strings.Contains(text, "\n"+family+" ") && !strings.Contains(text, "\n"+family+"{") &&
			!strings.Contains(text, "\n"+family+"_bucket{") {
			t.Errorf("a cluster member does not export %s", family)
		}
	}
}

// TestC4_OutcomesDecidedInLogOrder races appends to one series from every member: each
// timestamp is acknowledged at most once, every member then holds exactly the acknowledged
// points, and the refusals are out_of_order, the same everywhere.
func TestC4_OutcomesDecidedInLogOrder(t *testing.T) {
	c := newTestCluster(t, 3)
	l := label("c4")
	connect(t, c.addr(0)).expect(connect(t, c.addr(0)).call(protocol.OpCreateSeries, series(l)), okAnswer)
	var mu sync.Mutex
	acked := map[int64]uint64{}
	var wg sync.WaitGroup
	for m := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cn := connect(t, c.addr(m))
			for ts := int64(1); ts <= 150; ts++ {
				bits := uint64(m)<<32 | uint64(ts)
				a := cn.call(protocol.OpAppend, appendBits(l, ts, bits))
				switch {
				case a.op == protocol.OpOK:
					mu.Lock()
					if _, dup := acked[ts]; dup {
						t.Errorf("timestamp %d acknowledged twice", ts)
					}
					acked[ts] = bits
					mu.Unlock()
				case !isStatus(a, protocol.StatusOutOfOrder):
					t.Errorf("member %d append %d: %v, want OK or out_of_order", m, ts, a)
				}
			}
		}()
	}
	wg.Wait()
	for m := range 3 {
		cn := connect(t, c.addr(m))
		for ts := int64(1); ts <= 150; ts++ {
			bits, ok := acked[ts]
			want := notFoundAnswer
			if ok {
				want = answer{protocol.OpOK, protocol.AppendQueryAnswer(nil, true, bits)[protocol.HeaderSize:]}
			}
			cn.expect(cn.call(protocol.OpQueryPoint, queryP(l, ts)), want)
		}
	}
	if len(acked) == 0 {
		t.Fatal("no append was acknowledged")
	}
}

// TestC3_SIGKILLOfEveryMemberLosesNothingAcknowledged writes through every member from
// pipelined connections, SIGKILLs all of them at once at a random moment, restarts them and
// checks every acknowledged point (exact bits) and drop, and that refused appends are absent.
// Members snapshot often, so each restarts from a snapshot and the log after it.
func TestC3_SIGKILLOfEveryMemberLosesNothingAcknowledged(t *testing.T) {
	c := newTestCluster(t, 3, "TAU_CLUSTER_SNAPSHOT_ENTRIES=50")
	model := newDurableModel()
	const rounds = 3
	for round := range rounds {
		rng := rand.New(rand.NewSource(int64(round) + 7))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			wrng := rand.New(rand.NewSource(rng.Int63()))
			addr := c.addr(w % 3)
			go func() {
				defer wg.Done()
				model.write(addr, fmt.Sprintf("r%d-w%d", round, w), round, wrng, stop)
			}()
		}
		time.Sleep(time.Duration(300+rng.Intn(500)) * time.Millisecond)
		for i := range 3 {
			_ = syscall.Kill(c.procs[i].PID(), syscall.SIGKILL)
		}
		for i := range 3 {
			c.procs[i].Kill()
		}
		close(stop)
		wg.Wait()
		for i := range 3 {
			c.start(i)
		}
		for i := range 3 {
			c.procs[i].WaitReady()
		}
		for i := range 3 {
			model.verify(t, c.addr(i), round)
		}
	}
	if model.acked() == 0 {
		t.Fatal("no append was acknowledged")
	}
	t.Logf("%d acknowledged points and %d drops survived %d SIGKILLs of every member", model.acked(), model.drops(), rounds)
}

// TestC5_NoQuorumNoLie kills two of three members: the survivor answers writes busy or
// internal_error and reads busy, never OK. A write answered busy is absent once the cluster
// is back; one answered internal_error may be there or not.
func TestC5_NoQuorumNoLie(t *testing.T) {
	c := newTestCluster(t, 3, "TAU_REQUEST_TIMEOUT=1s")
	l := label("c5")
	c0 := connect(t, c.addr(0))
	c0.expect(c0.call(protocol.OpCreateSeries, series(l)), okAnswer)
	c0.expect(c0.call(protocol.OpAppend, appendP(l, 1, 1)), okAnswer)
	c.procs[1].Kill()
	c.procs[2].Kill()
	var busy []int64
	for ts := int64(2); len(busy) < 2; ts++ {
		switch a := c0.call(protocol.OpAppend, appendP(l, ts, 2)); {
		case isStatus(a, protocol.StatusBusy):
			busy = append(busy, ts)
		case isStatus(a, protocol.StatusInternalError):
		default:
			t.Fatalf("append %d without a quorum: %v, want busy or internal_error", ts, a)
		}
		if a := c0.call(protocol.OpQueryPoint, queryP(l, 1)); !isStatus(a, protocol.StatusBusy) {
			t.Fatalf("read without a quorum: %v, want busy", a)
		}
	}
	c.start(1)
	c.start(2)
	for i := range 3 {
		c.procs[i].WaitReady()
	}
	c1 := connect(t, c.addr(1))
	for _, ts := range busy {
		c1.expect(c1.call(protocol.OpQueryPoint, queryP(l, ts)), notFoundAnswer)
	}
	c1.expect(c1.call(protocol.OpQueryPoint, queryP(l, 1)), foundAnswer(1))
}

// TestC6_WritesResumeAfterTheLeaderCrashes SIGKILLs the leader and writes through a survivor
// until it answers OK; the time it took is logged (measured, not asserted: docs/cluster.md).
func TestC6_WritesResumeAfterTheLeaderCrashes(t *testing.T) {
	c := newTestCluster(t, 3)
	l := label("c6")
	lead := c.leader()
	other := c.others(lead)[0]
	cn := connect(t, c.addr(other))
	cn.expect(cn.call(protocol.OpCreateSeries, series(l)), okAnswer)
	c.procs[lead].Kill()
	start := time.Now()
	ts := int64(1)
	for ; ; ts++ {
		a := cn.call(protocol.OpAppend, appendP(l, ts, float64(ts)))
		if a.op == protocol.OpOK {
			break
		}
		if !isStatus(a, protocol.StatusBusy) && !isStatus(a, protocol.StatusInternalError) {
			t.Fatalf("append during failover: %v", a)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("writes resumed %v after the leader's SIGKILL", time.Since(start))
	c.restart(lead)
	back := connect(t, c.addr(lead))
	back.expect(back.call(protocol.OpQueryPoint, queryP(l, ts)), foundAnswer(float64(ts)))
}

// TestC2_PausedLeaderNeverAnswersStale pauses the leader (SIGSTOP) past the election timeout,
// writes through the new leader, resumes the old one (SIGCONT) and reads through it at once:
// it answers the new value or busy, never the old one.
func TestC2_PausedLeaderNeverAnswersStale(t *testing.T) {
	c := newTestCluster(t, 3)
	l := label("c2")
	lead := c.leader()
	old := connect(t, c.addr(lead))
	old.expect(old.call(protocol.OpCreateSeries, series(l)), okAnswer)
	old.expect(old.call(protocol.OpAppend, appendP(l, 1, 1)), okAnswer)
	c.signal(lead, syscall.SIGSTOP)
	rest := c.others(lead)
	c.leader(rest...)
	cn := connect(t, c.addr(rest[0]))
	for {
		a := cn.call(protocol.OpDropSeries, series(l))
		if a.op == protocol.OpOK {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cn.expect(cn.call(protocol.OpCreateSeries, series(l)), okAnswer)
	c.signal(lead, syscall.SIGCONT)
	for {
		a := old.call(protocol.OpQueryPoint, queryP(l, 1))
		if isStatus(a, protocol.StatusBusy) {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		old.expect(a, notFoundAnswer) // the series was dropped and made again, empty
		break
	}
	// Reads after a write on another member see it, every time, in both directions.
	for i := range 100 {
		w, r := connect(t, c.addr(i%3)), connect(t, c.addr((i+1)%3))
		w.expect(w.call(protocol.OpAppend, appendP(l, int64(10+i), float64(i))), okAnswer)
		r.expect(r.call(protocol.OpQueryPoint, queryP(l, int64(10+i))), foundAnswer(float64(i)))
	}
}

// TestC7_RestartedMemberCatchesUp stops a follower, writes while it is down (far more than
// the entries between snapshots, so the others compact their logs past it), and reads
// everything back through it once it is back: it was sent a snapshot.
func TestC7_RestartedMemberCatchesUp(t *testing.T) {
	c := newTestCluster(t, 3, "TAU_CLUSTER_SNAPSHOT_ENTRIES=8")
	l := label("c7")
	lead := c.leader()
	down := c.others(lead)[0]
	cn := connect(t, c.addr(lead))
	cn.expect(cn.call(protocol.OpCreateSeries, series(l)), okAnswer)
	c.procs[down].Kill()
	const batches, per = 40, 250
	for b := range batches {
		pts := make([]bpt, per)
		for i := range pts {
			ts := int64(b*per + i + 1)
			pts[i] = bpt{ts, math.Float64bits(float64(ts))}
		}
		cn.expect(cn.call(protocol.OpAppendBatch, batchP(l, pts...)), okAnswer)
	}
	c.restart(down)
	back := connect(t, c.addr(down))
	info := back.call(protocol.OpSeriesInfo, series(l))
	want := protocol.AppendSeriesInfoAnswer(nil, batches*per, 1, batches*per)[protocol.HeaderSize:]
	back.expect(info, answer{protocol.OpOK, want})
	snaps, _ := filepath.Glob(filepath.Join(c.dirs[down], "raft", "snapshots", "*.tausnap"))
	if len(snaps) == 0 {
		t.Fatal("the member caught up without a snapshot: the test does not test what it says")
	}
	// It restarts from its snapshot and what followed, with everything.
	c.procs[down].Kill()
	c.restart(down)
	back = connect(t, c.addr(down))
	back.expect(back.call(protocol.OpSeriesInfo, series(l)), answer{protocol.OpOK, want})
}

// TestC8_MembershipChangesUnderLoad adds a fourth member while clients write, reads the data
// through it, then removes a founder, which stops serving; no write gets an answer other than
// OK, busy or internal_error.
func TestC8_MembershipChangesUnderLoad(t *testing.T) {
	c := newTestCluster(t, 3)
	l := label("c8")
	c0 := connect(t, c.addr(0))
	c0.expect(c0.call(protocol.OpCreateSeries, series(l)), okAnswer)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var acked sync.Map
	wg.Add(1)
	addr := c.addr(0)
	go func() {
		defer wg.Done()
		cn := connect(t, addr)
		for ts := int64(1); ; ts++ {
			select {
			case <-stop:
				return
			default:
			}
			a := cn.call(protocol.OpAppend, appendP(l, ts, float64(ts)))
			switch {
			case a.op == protocol.OpOK:
				acked.Store(ts, true)
			case isStatus(a, protocol.StatusBusy), isStatus(a, protocol.StatusInternalError):
			default:
				t.Errorf("append %d during a membership change: %v", ts, a)
				return
			}
		}
	}()
	// A joiner: not among the founders, so it waits to be added and sent the log.
	c.names = append(c.names, "m3")
	c.peers = append(c.peers, freeAddr(t))
	c.dirs = append(c.dirs, t.TempDir())
	c.procs = append(c.procs, nil)
	joiner := c.start(3)
	if code, body := clusterAPI(t, c.procs[1].HTTPAddr, http.MethodPost, "/cluster/members",
		fmt.Sprintf(`{"name":"m3","peer_address":%q}`, c.peers[3])); code != http.StatusOK {
		t.Fatalf("adding m3: %d %s", code, body)
	}
	joiner.WaitReady()
	var list struct {
		Members []struct {
			Name string `json:"name"`
			Role string `json:"role"`
		} `json:"members"`
	}
	_, body := clusterAPI(t, c.procs[3].HTTPAddr, http.MethodGet, "/cluster/members", "")
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Members) != 4 {
		t.Fatalf("members after the add, as m3 sees them: %s (%v)", body, err)
	}
	if code, body := clusterAPI(t, c.procs[0].HTTPAddr, http.MethodDelete, "/cluster/members/m2", ""); code != http.StatusOK {
		t.Fatalf("removing m2: %d %s", code, body)
	}
	if code := c.procs[2].Wait(tauproc.UntilHang); code != 0 {
		t.Fatalf("the removed member exited %d, want 0", code)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	cn := connect(t, c.addr(3))
	n := 0
	acked.Range(func(k, _ any) bool {
		ts := k.(int64)
		cn.expect(cn.call(protocol.OpQueryPoint, queryP(l, ts)), foundAnswer(float64(ts)))
		n++
		return true
	})
	if n == 0 {
		t.Fatal("no write was acknowledged during the changes")
	}
	if code, _ := clusterAPI(t, c.procs[0].HTTPAddr, http.MethodGet, "/cluster/members", ""); code != http.StatusOK {
		t.Fatalf("list: %d", code)
	}
	if code, _ := get(t, "http://"+c.procs[0].HTTPAddr+"/cluster/members"); code != http.StatusUnauthorized {
		t.Fatalf("the membership API without a certificate: %d, want 401", code)
	}
}

// clusterAPI calls the membership API with the development certificate.
func clusterAPI(t *testing.T, httpAddr, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+httpAddr+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+hex.EncodeToString(auth.DevCertificate[:]))
	client := &http.Client{Timeout: time.Until(hang.Deadline(t))}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// isStatus reports whether a is ERR with status st.
func isStatus(a answer, st protocol.Status) bool {
	return a.op == protocol.OpErr && len(a.payload) == 1 && a.payload[0] == byte(st)
}

// TestSingleNodeDataFoundsACluster writes through a single node, then starts its directory
// as the sole founder of a cluster (refused with others named beside it), adds two joiners,
// and reads everything back through the last one, after a restart of the founder.
func TestSingleNodeDataFoundsACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster of binaries")
	}
	dir := t.TempDir()
	single := tauproc.Start(t, tauproc.Options{DataDir: dir})
	cn := connect(t, single.Addr)
	l, empty, lens, both := label("seeded"), label("seeded-empty"), label("seeded-lens"), label("seeded-both")
	cn.expect(cn.call(protocol.OpCreateSeries, series(l)), okAnswer)
	cn.expect(cn.call(protocol.OpCreateSeries, series(empty)), okAnswer)
	const points = 20000
	for b := 0; b < points/1000; b++ {
		pts := make([]bpt, 1000)
		for i := range pts {
			ts := int64(b*1000 + i + 1)
			pts[i] = bpt{ts, math.Float64bits(float64(ts) / 8)}
		}
		cn.expect(cn.call(protocol.OpAppendBatch, batchP(l, pts...)), okAnswer)
	}
	cn.mustLens(t, lens, l, "celsius_to_fahrenheit")
	cn.mustLens(t, label("seeded-r"), l, "returns")
	cn.expect(cn.call(protocol.OpComposeLens, composeLensP(both, lens, label("seeded-r"))), okAnswer)
	wantLens, wantBoth := cn.call(protocol.OpQueryLens, queryP(lens, 8)), cn.call(protocol.OpQueryLens, queryP(both, 16))
	if len(wantBoth.payload) != 9 || wantBoth.payload[0] != 1 {
		t.Fatalf("the single node's composed lens: %v", wantBoth)
	}
	single.Kill()

	c := &testCluster{t: t, names: []string{"m0", "m1", "m2"}, dirs: []string{dir, t.TempDir(), t.TempDir()}}
	c.peers = []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	c.procs = make([]*tauproc.Process, 3)
	c.env = []string{"TAU_INITIAL_CLUSTER=m0=" + c.peers[0] + ",m1=" + c.peers[1]}
	refused := tauproc.Command(t, append([]string{"TAU_NODE_NAME=m0", "TAU_PEER_ADDRESS=" + c.peers[0],
		"TAU_DATA_DIR=" + dir, "TAU_LISTEN_ADDRESS=127.0.0.1:0", "TAU_HTTP_ADDRESS=127.0.0.1:0"}, c.env...))
	if out, err := refused.CombinedOutput(); refused.ProcessState.ExitCode() != 2 || !bytes.Contains(out, []byte("on its own")) {
		t.Fatalf("a single node's data with two founders: exit %d (%v), want 2 and why; output:\n%s", refused.ProcessState.ExitCode(), err, out)
	}
	c.env = []string{"TAU_INITIAL_CLUSTER=m0=" + c.peers[0]}
	c.start(0).WaitReady()
	for i := 1; i < 3; i++ {
		c.start(i)
		if code, body := clusterAPI(t, c.procs[0].HTTPAddr, http.MethodPost, "/cluster/members",
			fmt.Sprintf(`{"name":%q,"peer_address":%q}`, c.names[i], c.peers[i])); code != http.StatusOK {
			t.Fatalf("adding %s: %d %s; the founder's log:\n%s\nthe joiner's:\n%s", c.names[i], code, body, c.procs[0].Log(), c.procs[i].Log())
		}
		c.procs[i].WaitReady()
	}
	c.procs[0].Kill()
	c.restart(0)
	last := connect(t, c.addr(2))
	want := protocol.AppendSeriesInfoAnswer(nil, points, 1, points)[protocol.HeaderSize:]
	last.expect(last.call(protocol.OpSeriesInfo, series(l)), answer{protocol.OpOK, want})
	last.expect(last.call(protocol.OpQueryPoint, queryP(l, 777)), foundAnswer(777.0/8))
	last.expect(last.call(protocol.OpSeriesInfo, series(empty)), answer{protocol.OpOK, protocol.AppendSeriesInfoAnswer(nil, 0, 0, 0)[protocol.HeaderSize:]})
	last.expect(last.call(protocol.OpQueryLens, queryP(lens, 8)), wantLens) // as the single node answered
	last.expect(last.call(protocol.OpQueryLens, queryP(both, 16)), wantBoth)
	if got := last.listLenses(nil); len(got) != 3 {
		t.Fatalf("lenses after seeding: %d, want 3", len(got))
	}
	if _, err := os.Stat(filepath.Join(dir, "single-node-seeded", "wal")); err != nil {
		t.Fatalf("the single node's log was not moved aside: %v", err)
	}
}

// TestClusterPeersSpeakMutualTLS runs a cluster with TLS and a client CA: the TAU port and the
// peer port speak TLS with the same pair, the peers prove themselves with it (mutual TLS),
// and a write through one member is read through another.
func TestClusterPeersSpeakMutualTLS(t *testing.T) {
	ca := testpki.NewCA(t, "tau cluster CA")
	pair := ca.Issue(t, testpki.Options{CommonName: "tau", Peer: true})
	mount := testpki.NewMount(t, testpki.TLSFiles(pair, ca))
	c := newTestCluster(t, 3, "TAU_TLS_CERT_FILE="+mount.Path("tls.crt"), "TAU_TLS_KEY_FILE="+mount.Path("tls.key"),
		"TAU_TLS_CLIENT_CA_FILE="+mount.Path("ca.crt"))
	client := ca.Issue(t, testpki.Options{CommonName: "client", Client: true}).TLS(t)
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", Certificates: []tls.Certificate{client}, MinVersion: tls.VersionTLS12}
	w, r := dialTLS(t, c.addr(0), cfg), dialTLS(t, c.addr(2), cfg)
	w.expect(w.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
	r.expect(r.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
	l := label("tls")
	w.expect(w.call(protocol.OpCreateSeries, series(l)), okAnswer)
	w.expect(w.call(protocol.OpAppend, appendP(l, 1, 2.5)), okAnswer)
	r.expect(r.call(protocol.OpQueryPoint, queryP(l, 1)), foundAnswer(2.5))
	// The peer port: TLS with the pair, a client certificate required.
	peer, err := tls.Dial("tcp", c.peers[1], &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost",
		Certificates: []tls.Certificate{pair.TLS(t)}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatalf("a TLS handshake with the peer port: %v", err)
	}
	_ = peer.Close()
	// Without a certificate the handshake fails; in TLS 1.3 the client learns it at its first
	// read, where the server's alert arrives.
	bare, err := tls.Dial("tcp", c.peers[1], &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost",
		MinVersion: tls.VersionTLS13, NextProtos: []string{"h2"}})
	if err == nil {
		_ = bare.SetReadDeadline(hang.Deadline(t))
		_, err = bare.Read(make([]byte, 1))
		_ = bare.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a peer without a client certificate: %v, want a refused handshake", err)
	}
}

// TestClusterRefusesAMemberWithOtherSettings: the settings that decide outcomes are in the
// log (the first leader's); a member whose own differ says which and exits 2 instead of
// serving, and the others go on.
func TestClusterRefusesAMemberWithOtherSettings(t *testing.T) {
	c := newTestCluster(t, 3)
	c.names = append(c.names, "odd")
	c.peers = append(c.peers, freeAddr(t))
	c.dirs = append(c.dirs, t.TempDir())
	c.procs = append(c.procs, nil)
	c.env = append(c.env, "TAU_LENS_CAPACITY=7")
	odd := c.start(3)
	// The add answers once odd is a voter, or not at all (odd may stop first): not waited for.
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.procs[0].HTTPAddr+"/cluster/members",
		strings.NewReader(fmt.Sprintf(`{"name":"odd","peer_address":%q}`, c.peers[3])))
	req.Header.Set("Authorization", "Bearer "+hex.EncodeToString(auth.DevCertificate[:]))
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}()
	if code := odd.Wait(tauproc.UntilHang); code != 2 {
		t.Fatalf("a member with another TAU_LENS_CAPACITY exited %d, want 2", code)
	}
	if !strings.Contains(odd.Log(), "TAU_LENS_CAPACITY") || !strings.Contains(odd.Log(), "7 here, 1000 in the cluster") {
		t.Fatalf("the refused member does not say which setting differs; log:\n%s", odd.Log())
	}
	cn := connect(t, c.addr(1))
	cn.expect(cn.call(protocol.OpCreateSeries, series(label("still"))), okAnswer)
}

// TestClusterForcedNewClusterAfterMajorityLost loses two of three members for good; the
// survivor, started once with TAU_FORCE_NEW_CLUSTER=true, forms a cluster alone with every
// acknowledged write, takes writes, and then grows again with tau cluster add.
func TestClusterForcedNewClusterAfterMajorityLost(t *testing.T) {
	c := newTestCluster(t, 3, "TAU_CLUSTER_SNAPSHOT_ENTRIES=20")
	l := label("forced")
	cn := connect(t, c.addr(0))
	cn.expect(cn.call(protocol.OpCreateSeries, series(l)), okAnswer)
	for ts := int64(1); ts <= 50; ts++ {
		cn.expect(cn.call(protocol.OpAppend, appendP(l, ts, float64(ts))), okAnswer)
	}
	c.procs[1].Kill()
	c.procs[2].Kill()
	c.procs[0].Kill()
	c.env = append(c.env, "TAU_FORCE_NEW_CLUSTER=true")
	c.restart(0)
	if !strings.Contains(c.procs[0].Log(), "forms a new cluster alone") {
		t.Fatalf("the forced start does not say what it did; log:\n%s", c.procs[0].Log())
	}
	cn = connect(t, c.addr(0))
	cn.expect(cn.call(protocol.OpSeriesInfo, series(l)), answer{protocol.OpOK, protocol.AppendSeriesInfoAnswer(nil, 50, 1, 50)[protocol.HeaderSize:]})
	cn.expect(cn.call(protocol.OpAppend, appendP(l, 51, 51)), okAnswer)
	// Once it runs, the variable goes; a new member joins the new cluster.
	c.env = c.env[:len(c.env)-1]
	c.procs[0].Kill()
	c.restart(0)
	c.dirs[1] = t.TempDir()
	joiner := c.start(1)
	if code, body := clusterAPI(t, c.procs[0].HTTPAddr, http.MethodPost, "/cluster/members",
		fmt.Sprintf(`{"name":"m1","peer_address":%q}`, c.peers[1])); code != http.StatusOK {
		t.Fatalf("adding a member to the forced cluster: %d %s; its log:\n%s", code, body, joiner.Log())
	}
	joiner.WaitReady()
	back := connect(t, c.addr(1))
	back.expect(back.call(protocol.OpQueryPoint, queryP(l, 51)), foundAnswer(51))
}
