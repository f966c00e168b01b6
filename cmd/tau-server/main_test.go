package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/taudb/tau/internal/testenv/tauproc"
)

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"bad number", []string{"TAU_MAX_CONNECTIONS=many"}, nil, 2, `TAU_MAX_CONNECTIONS="many" is invalid`},
		{"both certificates", []string{"TAU_CERTIFICATE=" + strings.Repeat("ab", 32), "TAU_CERTIFICATE_FILE=/c"}, nil, 2, "both set"},
		{"dev certificate off loopback", []string{"TAU_LISTEN_ADDRESS=0.0.0.0:0"}, nil, 2, "not a loopback address"},
		{"missing certificate file", []string{"TAU_CERTIFICATE_FILE=/nonexistent/cert"}, nil, 2, "cannot be read"},
		{"unknown argument", nil, []string{"--port=1"}, 2, "TAU_* environment"},
		{"help", nil, []string{"--help"}, 0, "TAU_LISTEN_ADDRESS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := tauproc.Command(t, tc.env, tc.args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
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
		})
	}
}

func TestSIGTERMExitsZero(t *testing.T) {
	p := tauproc.Start(t, tauproc.Options{})
	if code := p.Stop(time.Minute); code != 0 {
		t.Fatalf("exit %d after SIGTERM; log:\n%s", code, p.Log())
	}
	if len(p.Entries("stopped")) != 1 {
		t.Fatalf("no \"stopped\" line; log:\n%s", p.Log())
	}
	if strings.Contains(p.Log(), "000102030405") {
		t.Fatal("the certificate appears in the log")
	}
}
