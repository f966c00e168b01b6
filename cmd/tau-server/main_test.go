package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildServer compiles this command once per test binary run.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tau-server")
	out, err := exec.Command("go", "build", "-race", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func TestExitCodes(t *testing.T) {
	bin := buildServer(t)
	a, b := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	badLine := filepath.Join(t.TempDir(), "certificate")
	if err := os.WriteFile(badLine, []byte(a+"\n"+b[:50]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	nine := make([]string, 9)
	for i := range nine {
		nine[i] = strings.Repeat(fmt.Sprintf("%02x", 0x10+i), 32)
	}
	cases := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"bad number", []string{"TAU_MAX_CONNECTIONS=many"}, nil, 2, `TAU_MAX_CONNECTIONS="many" is invalid`},
		{"bad boolean", []string{"TAU_PPROF=maybe"}, nil, 2, `TAU_PPROF="maybe" is invalid: want true or false`},
		{"both certificates", []string{"TAU_CERTIFICATE=" + strings.Repeat("ab", 32), "TAU_CERTIFICATE_FILE=/c"}, nil, 2, "both set"},
		{"dev certificate off loopback", []string{"TAU_LISTEN_ADDRESS=0.0.0.0:0"}, nil, 2, "not a loopback address"},
		{"missing certificate file", []string{"TAU_CERTIFICATE_FILE=/nonexistent/cert"}, nil, 2, "cannot be read"},
		{"bad second certificate", []string{"TAU_CERTIFICATE=" + a + "," + b[:63] + "z"}, nil, 2, "TAU_CERTIFICATE is invalid: entry 2: want 64 hex characters, found a non-hex character"},
		{"nine certificates", []string{"TAU_CERTIFICATE=" + strings.Join(nine, ",")}, nil, 2, "TAU_CERTIFICATE is invalid: 9 certificates: at most 8 are accepted"},
		{"bad second line", []string{"TAU_CERTIFICATE_FILE=" + badLine}, nil, 2, "is invalid: line 2: want 64 hex characters, got 50 characters"},
		{"unknown argument", nil, []string{"--port=1"}, 2, "TAU_* environment"},
		{"help", nil, []string{"--help"}, 0, "TAU_LISTEN_ADDRESS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = append(cleanEnv(), tc.env...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("exit %d, output %q; want exit %d containing %q", code, out.String(), tc.code, tc.want)
			}
			if tc.code == 2 && strings.Count(strings.TrimSpace(out.String()), "\n") != 0 {
				t.Fatalf("config error spans lines: %q", out.String())
			}
			for _, c := range append([]string{a, b}, nine...) {
				if strings.Contains(out.String(), c[:16]) {
					t.Fatalf("a certificate appears in the output: %q", out.String())
				}
			}
		})
	}
}

func TestSIGTERMExitsZero(t *testing.T) {
	bin := buildServer(t)
	addr := freeAddr(t)
	cmd := exec.Command(bin)
	cmd.Env = append(cleanEnv(), "TAU_LISTEN_ADDRESS="+addr, "TAU_HTTP_ADDRESS="+freeAddr(t),
		"TAU_DATA_DIR="+t.TempDir(), "TAU_LOG_FORMAT=console")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitListening(t, addr)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "000102030405") {
		t.Fatal("the certificate appears in the log")
	}
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TAU_") {
			env = append(env, kv)
		}
	}
	return env
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

func waitListening(t *testing.T, addr string) {
	for i := 0; i < 600; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server never listened on " + addr)
}
