package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/pkg/client/clienttest"
	"github.com/taudb/tau/pkg/protocol"
)

// A short run against the real server: every request succeeds and the summary has throughput
// and every percentile.
func TestBenchSummary(t *testing.T) {
	c := newCLI(t)
	o := c.expect(exitOK, "", "", "bench", "-n", "2000", "-c", "4", "-P", "8", "--series", "16")
	for _, test := range []string{"APPEND", "QUERY", "PING"} {
		block := section(t, o.stdout, test)
		for _, want := range []string{
			"2000 requests in ", "4 connections, pipeline 8, 16 series, tau 127.0.0.1:",
			"errors: none",
		} {
			if !strings.Contains(block, want) {
				t.Errorf("%s summary lacks %q:\n%s", test, want, block)
			}
		}
		if !regexp.MustCompile(`throughput: \d+\.\d requests per second`).MatchString(block) ||
			!regexp.MustCompile(`p50 \d+\.\d{3}  p90 \d+\.\d{3}  p99 \d+\.\d{3}  p99\.9 \d+\.\d{3}  max \d+\.\d{3}`).MatchString(block) {
			t.Errorf("%s summary lacks throughput or percentiles:\n%s", test, block)
		}
	}
	if strings.Contains(o.stdout, "\r") {
		t.Error("progress line written to a non-terminal")
	}
}

// section is the summary block of one test.
func section(t *testing.T, out, test string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "====== "+test+" ======")
	if !ok {
		t.Fatalf("no %s section in:\n%s", test, out)
	}
	block, _, _ := strings.Cut(rest, "======")
	return block
}

func TestBenchJSON(t *testing.T) {
	c := newCLI(t)
	o := c.expect(exitOK, "", "", "bench", "-n", "2000", "-c", "3", "-P", "2", "--series", "3", "--json")
	var results []benchResult
	if err := json.Unmarshal([]byte(o.stdout), &results); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, o.stdout)
	}
	if len(results) != 3 {
		t.Fatalf("%d results, want 3", len(results))
	}
	for i, want := range []string{"append", "query", "ping"} {
		r := results[i]
		l := r.Latency
		if r.Test != want || r.Requests != 2000 || r.Errors != 0 || r.RPS <= 0 ||
			l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.P999 || l.P999 > l.Max || l.Max <= 0 {
			t.Errorf("result %d: %+v", i, r)
		}
	}
}

func TestBenchCSVAndDuration(t *testing.T) {
	c := newCLI(t)
	o := c.expect(exitOK, "", "", "bench", "-d", "100ms", "-c", "2", "-t", "ping,query", "--csv")
	rows, err := csv.NewReader(strings.NewReader(o.stdout)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("want a header and 2 rows, got %d (%v):\n%s", len(rows), err, o.stdout)
	}
	if strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		t.Errorf("header %v", rows[0])
	}
	for _, row := range rows[1:] {
		if n, _ := strconv.Atoi(row[5]); n <= 0 || row[6] != "0" {
			t.Errorf("row %v: want requests > 0 and no errors", row)
		}
		// tau bench's own CPU during the test: the requests took some (the CLI runs the
		// server in this process too, so this counts both, and is surely above zero)
		if cpu, err := strconv.ParseFloat(row[len(row)-1], 64); err != nil || cpu <= 0 {
			t.Errorf("row %v: client_cpu_seconds %q, want a positive number", row, row[len(row)-1])
		}
	}
}

// Error answers are counted by status, shown in the summary, and make the exit code 1.
func TestBenchCountsErrorAnswers(t *testing.T) {
	var n int64
	var mu sync.Mutex
	addr := clienttest.Start(t, func(r clienttest.Request) *clienttest.Reply {
		mu.Lock()
		defer mu.Unlock()
		if r.Op == protocol.OpPing {
			if n++; n%10 == 0 {
				return clienttest.Busy()
			}
		}
		return nil
	}).Addr
	c := &cli{t: t}
	o := c.expect(exitStatus, "errors: 100 (busy 100)", "", "--addr", addr, "bench", "-n", "1000", "-c", "2", "-t", "ping")
	if !strings.Contains(o.stdout, "1000 requests in") {
		t.Errorf("the failed requests are still requests:\n%s", o.stdout)
	}
}

func TestBenchUsage(t *testing.T) {
	c := &cli{t: t}
	cases := map[string][]string{
		"must be at least -c":     {"bench", "-c", "10", "--series", "5"},
		"exclude each other":      {"bench", "--csv", "--json"},
		`unknown test "frobnify"`: {"bench", "-t", "ping,frobnify"},
		"must be at least 1":      {"bench", "-P", "0"},
		"no Redis counterpart":    {"bench", "--resp", "-t", "append,range"},
		"--points must be":        {"bench", "-t", "batch", "--points", "0"},
	}
	for want, args := range cases {
		c.expect(exitUsage, "", want, args...)
	}
	// Fewer series than connections is fine when nothing is appended.
	s := servertest.Start(t)
	c.expect(exitOK, "", "", "--addr", s.Addr(), "bench", "-c", "4", "--series", "1", "-t", "query,ping", "-n", "200")
}

// batch writes --points points a request and range reads pages of them back: the summary has
// the points carried, and every batch is stored (the series hold exactly what was sent).
func TestBenchBatchAndRange(t *testing.T) {
	s := servertest.Start(t)
	c := &cli{t: t}
	o := c.expect(exitOK, "", "", "--addr", s.Addr(), "bench", "-n", "40", "-c", "2", "-P", "2",
		"--series", "4", "--points", "250", "-t", "batch,range", "--json")
	var results []benchResult
	if err := json.Unmarshal([]byte(o.stdout), &results); err != nil || len(results) != 2 {
		t.Fatalf("want 2 JSON results (%v):\n%s", err, o.stdout)
	}
	batch, rng := results[0], results[1]
	if batch.Test != "batch" || batch.Requests != 40 || batch.Errors != 0 || batch.Points != 40*250 || batch.PPS <= 0 {
		t.Errorf("batch: %+v", batch)
	}
	// A page starts at a random point already written, so it holds between 1 and 250 points.
	if rng.Test != "range" || rng.Requests != 40 || rng.Errors != 0 || rng.Points < 40 || rng.Points > 40*250 {
		t.Errorf("range: %+v", rng)
	}
	var stored int
	for i := range 4 {
		o := c.expect(exitOK, "", "", "--addr", s.Addr(), "info", "series"+strconv.Itoa(i))
		m := regexp.MustCompile(`(?m)^points\s+(\d+)$`).FindStringSubmatch(o.stdout)
		if m == nil {
			t.Fatalf("tau info without a points line:\n%s", o.stdout)
		}
		n, _ := strconv.Atoi(m[1])
		stored += n
	}
	if stored != 40*250 {
		t.Errorf("the series hold %d points, want %d", stored, 40*250)
	}
}

func TestBenchConnectionRefused(t *testing.T) {
	s := clienttest.Start(t, nil)
	s.Close()
	c := &cli{t: t}
	c.expect(exitConn, "", "cannot connect", "--addr", s.Addr, "bench", "-n", "10")
	c.expect(exitConn, "", "cannot connect", "--addr", s.Addr, "bench", "--resp", "-n", "10")
}

// The RESP mode sends HSET/HGET/PING with the same series and pipeline logic.
func TestBenchRESP(t *testing.T) {
	r := startFakeRedis(t)
	c := &cli{t: t}
	o := c.expect(exitOK, "", "", "bench", "--resp", "--addr", r.addr, "-n", "2000", "-c", "4", "-P", "16", "--series", "8", "--json")
	var results []benchResult
	if err := json.Unmarshal([]byte(o.stdout), &results); err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		if res.Requests != 2000 || res.Errors != 0 || !strings.HasPrefix(res.Target, "redis ") {
			t.Errorf("%+v", res)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts["HSET"] != 2000 || r.counts["HGET"] != 2000 || r.counts["PING"] != 2001 {
		t.Errorf("commands seen: %v (want 2000 HSET, 2000 HGET, 2001 PING with the check)", r.counts)
	}
	if r.hits != 2000 {
		t.Errorf("%d of 2000 HGETs found their field; queries should ask for appended points", r.hits)
	}
	if len(r.hashes) != 8 {
		t.Errorf("%d hashes, want 8 (series0..series7)", len(r.hashes))
	}
}

func TestBenchRESPCountsErrorReplies(t *testing.T) {
	r := startFakeRedis(t)
	r.failHGET = true
	c := &cli{t: t}
	c.expect(exitStatus, "errors: 300 (WRONGTYPE 300)", "", "bench", "--resp", "--addr", r.addr, "-n", "300", "-c", "2", "-t", "query")
}

// fakeRedis understands the three commands tau bench sends.
type fakeRedis struct {
	addr     string
	failHGET bool

	mu     sync.Mutex
	counts map[string]int
	hashes map[string]map[string]string
	hits   int
}

func startFakeRedis(t *testing.T) *fakeRedis {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRedis{addr: ln.Addr().String(), counts: map[string]int{}, hashes: map[string]map[string]string{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); r.serve(nc) }()
		}
	}()
	return r
}

func (r *fakeRedis) serve(nc net.Conn) {
	defer func() { _ = nc.Close() }()
	br, bw := bufio.NewReader(nc), bufio.NewWriter(nc)
	for {
		cmd, err := readCommand(br)
		if err != nil {
			return
		}
		bw.WriteString(r.do(cmd))
		if br.Buffered() == 0 && bw.Flush() != nil {
			return
		}
	}
}

func (r *fakeRedis) do(cmd []string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[cmd[0]]++
	switch {
	case cmd[0] == "PING":
		return "+PONG\r\n"
	case cmd[0] == "HSET" && len(cmd) == 4:
		if r.hashes[cmd[1]] == nil {
			r.hashes[cmd[1]] = map[string]string{}
		}
		r.hashes[cmd[1]][cmd[2]] = cmd[3]
		return ":1\r\n"
	case cmd[0] == "HGET" && len(cmd) == 3 && r.failHGET:
		return "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
	case cmd[0] == "HGET" && len(cmd) == 3:
		v, ok := r.hashes[cmd[1]][cmd[2]]
		if !ok {
			return "$-1\r\n"
		}
		r.hits++
		return "$" + strconv.Itoa(len(v)) + "\r\n" + v + "\r\n"
	}
	return "-ERR unknown command\r\n"
}

// readCommand reads one RESP array of bulk strings.
func readCommand(br *bufio.Reader) ([]string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
	cmd := make([]string, n)
	for i := range cmd {
		if _, err := br.ReadString('\n'); err != nil { // $len
			return nil, err
		}
		s, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		cmd[i] = strings.TrimSuffix(s, "\r\n")
	}
	return cmd, nil
}

// tau bench speaks TAU itself (wireConn) when every test is PING, APPEND or QUERY_POINT, and
// through pkg/client otherwise: a refused certificate, an answer that does not fit its request
// and an answer the server never sends end the run the same way on both.
func TestBenchWireAndClientFailAlike(t *testing.T) {
	s := servertest.Start(t)
	c := &cli{t: t}
	wrong := strings.Repeat("ee", 32)
	for _, tests := range []string{"ping,append,query", "batch"} {
		c.expect(exitStatus, "", "auth_failed", "--addr", s.Addr(), "--cert", wrong, "bench", "-n", "10", "-t", tests)
	}
	pongToAll := clienttest.Start(t, func(r clienttest.Request) *clienttest.Reply {
		if r.Op == protocol.OpAppend {
			return &clienttest.Reply{Frame: protocol.AppendHeader(nil, protocol.OpPong, 0)}
		}
		return nil
	}).Addr
	c.expect(exitConn, "", "unexpected answer", "--addr", pongToAll, "bench", "-n", "10", "-t", "append")
}

// The wire connection checks every answer against its request and counts statuses by name;
// its queries count the points not found, like pkg/client's.
func TestBenchWireQueriesCountMisses(t *testing.T) {
	c := newCLI(t)
	o := c.expect(exitOK, "not found: 0", "", "bench", "-n", "400", "-c", "2", "-P", "8", "--series", "4", "-t", "append,query")
	if !strings.Contains(o.stdout, "400 requests in") {
		t.Errorf("want 400 requests a test:\n%s", o.stdout)
	}
	// A run that wrote nothing queries its first timestamp, never written: every query misses.
	c.expect(exitOK, "not found: 40", "", "bench", "-n", "40", "-c", "1", "--series", "4", "-t", "query")
}
