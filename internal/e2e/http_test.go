package e2e

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/internal/storage"
	"github.com/taudb/tau/internal/version"
	"github.com/taudb/tau/pkg/protocol"
)

// buildInfoLine is tau_build_info as /metrics shows it for this build (labels sorted).
func buildInfoLine(v version.Info) string {
	return fmt.Sprintf(`tau_build_info{build_date=%q,goversion=%q,revision=%q,version=%q} 1`,
		v.BuildDate, v.GoVersion, v.Revision, v.Version)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetricsExposition(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("m")
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	c.expect(c.call(protocol.OpAppend, appendP(l, 1, 1)), okAnswer)
	c.expect(c.call(protocol.OpAppend, appendP(l, 1, 1)), errAnswer(protocol.StatusOutOfOrder))
	c.expect(c.call(0x77, nil), errAnswer(protocol.StatusBadOpcode))
	code, body := get(t, "http://"+srv.HTTPAddr()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`tau_requests_total{opcode="APPEND",status="ok"} 1`,
		`tau_requests_total{opcode="APPEND",status="out_of_order"} 1`,
		`tau_requests_total{opcode="unknown",status="bad_opcode"} 1`,
		`tau_catalog_series 1`,
		`tau_connections_open 1`,
		`tau_request_duration_seconds_bucket{opcode="APPEND"`,
		`tau_actor_mailbox_queued_messages 0`,
		`tau_actor_mailbox_max_depth_messages 0`,
		`tau_actor_mailbox_enqueue_depth_messages_bucket`,
		`tau_actor_pool_workers`,
		`tau_actor_busy_rejections_total 0`,
		`tau_auth_connects_total{certificate="1",result="ok"} 1`,
		`tau_auth_connects_total{certificate="2",result="ok"} 0`,
		`tau_auth_connects_total{certificate="none",result="auth_failed"} 0`,
		`tau_auth_loaded_certificates 1`,
		buildInfoLine(version.Get()),
		`go_goroutines`,
		`process_open_fds`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	problems, err := testutil.GatherAndLint(srv.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric lint: %s: %s", p.Metric, p.Text)
	}
}

func TestProbesFollowShutdown(t *testing.T) {
	hot := label("hot")
	g := &gateLog{stall: hot, entered: make(chan struct{}), gate: make(chan struct{})}
	srv := servertest.StartWith(t, server.Options{Store: g})
	base := "http://" + srv.HTTPAddr()
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := get(t, base+path); code != http.StatusOK {
			t.Fatalf("%s = %d on a running server", path, code)
		}
	}
	c := connect(t, srv.Addr())
	c.expect(c.call(protocol.OpCreateSeries, series(hot)), okAnswer)
	c.send(protocol.OpAppend, appendP(hot, 1, 1)) // stalls in storage: shutdown must wait for it
	<-g.entered
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop() }()
	waitStatus(t, base+"/readyz", http.StatusServiceUnavailable)
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d while draining", code)
	}
	close(g.gate)
	c.expect(c.read(), okAnswer) // the request read before shutdown got its answer
	c.expectClosed()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%s answering %d", url, want), func() bool { code, _ := get(t, url); return code == want })
}

// TestCertificateRotation swaps a kubelet-style Secret mount: new CONNECTs use the new
// certificate without a restart, an invalid rotation keeps the old one.
func TestCertificateRotation(t *testing.T) {
	dir := t.TempDir()
	oldCert, newCert := make([]byte, 32), make([]byte, 32)
	for i := range oldCert {
		oldCert[i], newCert[i] = 0xA0, byte(i*7)
	}
	mount := func(name string, content []byte) {
		ts := filepath.Join(dir, name)
		if err := os.Mkdir(ts, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ts, "certificate"), content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(name, filepath.Join(dir, "..tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	mount("..v1", []byte(hex.EncodeToString(oldCert)+"\n"))
	if err := os.Symlink("..data/certificate", filepath.Join(dir, "certificate")); err != nil {
		t.Fatal(err)
	}
	srv := start(t, func(c *config.Config) { c.CertificateFile = filepath.Join(dir, "certificate") })
	held := dial(t, srv.Addr())
	held.expect(held.call(protocol.OpConnect, oldCert), okAnswer)

	// The watcher starts beside the listener and may not watch yet: rotate again (as kubelet
	// would on its next sync) until a new CONNECT is accepted.
	tries := 0
	waitUntil(t, "the new certificate accepted", func() bool {
		if tries%20 == 0 {
			mount(fmt.Sprintf("..v2-%d", tries), []byte(hex.EncodeToString(newCert)))
		}
		tries++
		c := dial(t, srv.Addr())
		return c.call(protocol.OpConnect, newCert).op == protocol.OpOK
	})
	old := dial(t, srv.Addr())
	old.expect(old.call(protocol.OpConnect, oldCert), errAnswer(protocol.StatusAuthFailed))
	held.expectOpen() // sessions authenticated before the rotation stay

	mount("..v3", []byte("garbage"))
	waitMetric(t, "http://"+srv.HTTPAddr()+"/metrics", `tau_auth_certificate_reloads_total{result="rejected"} 1`)
	c := dial(t, srv.Addr())
	c.expect(c.call(protocol.OpConnect, newCert), okAnswer)
}

func waitMetric(t *testing.T, url, line string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("metric %q appearing", line), func() bool {
		_, body := get(t, url)
		return strings.Contains(body, line)
	})
}

// TestLivenessFailsWhenWorkersStall stalls the only worker inside one series' storage call
// while another series has mail waiting: /healthz turns 503 once no progress was made for the
// stall limit, and 200 again when the worker moves.
func TestLivenessFailsWhenWorkersStall(t *testing.T) {
	hot, other := label("hot"), label("other")
	g := &gateLog{stall: hot, entered: make(chan struct{}), gate: make(chan struct{})}
	srv := servertest.StartWith(t, server.Options{Store: g, StallLimit: 200 * time.Millisecond},
		func(c *config.Config) { c.ActorPoolSize = 1 })
	base := "http://" + srv.HTTPAddr()
	c := connect(t, srv.Addr())
	c.expect(c.call(protocol.OpCreateSeries, series(hot)), okAnswer)
	c.expect(c.call(protocol.OpCreateSeries, series(other)), okAnswer)
	c.send(protocol.OpAppend, appendP(hot, 1, 1)) // the one worker stalls here
	<-g.entered
	c2 := connect(t, srv.Addr())
	c2.send(protocol.OpQueryPoint, queryP(other, 1)) // waits for a worker
	waitStatus(t, base+"/healthz", http.StatusServiceUnavailable)
	close(g.gate)
	c.expect(c.read(), okAnswer)
	c2.expect(c2.read(), notFoundAnswer)
	waitStatus(t, base+"/healthz", http.StatusOK)
}

// slowRecovery is a store whose recovery waits for a gate.
type slowRecovery struct {
	storage.Memory
	gate chan struct{}
}

func (s *slowRecovery) Recover() ([]storage.SeriesState, error) {
	<-s.gate
	return s.Memory.Recover()
}

// TestReadyOnlyAfterRecovery: while storage recovers, /healthz is 200, /readyz 503 and the TAU
// port takes no requests; once recovered, /readyz is 200 and clients are served.
func TestReadyOnlyAfterRecovery(t *testing.T) {
	st := &slowRecovery{gate: make(chan struct{})}
	srv := runUnready(t, config.Default(), zap.NewNop(), server.Options{Store: st})
	base := "http://" + srv.HTTPAddr()
	waitStatus(t, base+"/healthz", http.StatusOK)
	if code, _ := get(t, base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d during recovery", code)
	}
	c := dial(t, srv.Addr())
	c.send(protocol.OpConnect, auth.DevCertificate[:]) // queued in the backlog, not answered yet
	close(st.gate)
	c.expect(c.read(), okAnswer)
	waitStatus(t, base+"/readyz", http.StatusOK)
}

// TestPprofIsOptIn: the HTTP port is every scraper's, unauthenticated, so /debug/pprof/ is not
// served there by default (404); TAU_PPROF=true serves it, and the start log says so.
func TestPprofIsOptIn(t *testing.T) {
	paths := []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/symbol", "/debug/pprof/goroutine?debug=1"}
	t.Run("default", func(t *testing.T) {
		srv := start(t)
		base := "http://" + srv.HTTPAddr()
		for _, p := range paths {
			if code, _ := get(t, base+p); code != http.StatusNotFound {
				t.Errorf("GET %s = %d without TAU_PPROF, want 404", p, code)
			}
		}
		if code, _ := get(t, base+"/metrics"); code != http.StatusOK {
			t.Errorf("GET /metrics = %d", code)
		}
	})
	t.Run("TAU_PPROF=true", func(t *testing.T) {
		t.Setenv("TAU_PPROF", "true")
		env, err := config.Load()
		if err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Pprof = env.Pprof
		core, logs := observer.New(zap.InfoLevel)
		srv := runUnready(t, cfg, zap.New(core), servertest.MemoryStore())
		base := "http://" + srv.HTTPAddr()
		waitStatus(t, base+"/readyz", http.StatusOK)
		for _, p := range paths {
			if code, _ := get(t, base+p); code != http.StatusOK {
				t.Errorf("GET %s = %d with TAU_PPROF=true, want 200", p, code)
			}
		}
		if _, body := get(t, base+"/debug/pprof/goroutine?debug=1"); !strings.Contains(body, "goroutine profile:") {
			t.Errorf("goroutine profile: %.200q", body)
		}
		if n := logs.FilterLevelExact(zap.InfoLevel).FilterMessageSnippet("profiling enabled").FilterField(zap.String("address", srv.HTTPAddr())).Len(); n != 1 {
			t.Errorf("%d start log lines say profiling is enabled, want 1: %v", n, logs.All())
		}
	})
}

// runUnready runs a server on 127.0.0.1:0 and a fresh data directory with a logger of the
// test's choice, without waiting for it to be ready (servertest waits, and logs nowhere); the
// test's cleanup stops it and reports Run's error.
func runUnready(t *testing.T, cfg config.Config, log *zap.Logger, o server.Options) *server.Server {
	t.Helper()
	cfg.ListenAddress, cfg.HTTPAddress, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	srv, err := server.New(cfg, log, prometheus.NewRegistry(), o)
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- srv.Run(stop) }()
	t.Cleanup(func() {
		close(stop)
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return srv
}

// TestMetricsCountEveryPipelinedAnswer: answers are counted in the metrics when they are
// flushed, a batch at a time; a pipelined stream far longer than a connection's window, sent
// in one write, still counts every answer, once.
func TestMetricsCountEveryPipelinedAnswer(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	const n = 5000
	var b []byte
	for range n {
		b = protocol.AppendHeader(b, protocol.OpPing, 0)
	}
	c.sendAsync(b)
	for range n {
		c.expect(c.read(), answer{op: protocol.OpPong})
	}
	c.expect(c.call(protocol.OpPing, nil), answer{op: protocol.OpPong}) // flushed, so counted
	_, body := get(t, "http://"+srv.HTTPAddr()+"/metrics")
	for _, want := range []string{
		fmt.Sprintf(`tau_requests_total{opcode="PING",status="ok"} %d`, n+1),
		fmt.Sprintf(`tau_request_duration_seconds_count{opcode="PING"} %d`, n+1),
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
