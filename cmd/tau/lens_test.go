package main

import (
	"strings"
	"testing"

	"github.com/taudb/tau/pkg/client/clienttest"
	"github.com/taudb/tau/pkg/protocol"
)

func TestLensCommands(t *testing.T) {
	c := newCLI(t)
	c.expect(exitOK, "OK\n", "", "create", "temp")
	c.expect(exitOK, "OK\n", "", "append", "temp", "1", "20")
	c.expect(exitOK, "OK\n", "", "append", "temp", "2", "25")
	steps := []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"lens", "list"}, exitOK, "", ""},
		{[]string{"lens", "create", "temp.f", "temp", "celsius_to_fahrenheit"}, exitOK, "OK\n", ""},
		{[]string{"lens", "create", "temp.f", "temp", "identity"}, exitStatus, "", "ERR lens_already_exists: a lens with that label already exists\n"},
		{[]string{"lens", "create", "temp.r", "temp", "returns"}, exitOK, "OK\n", ""},
		{[]string{"lens", "compose", "temp.f.r", "temp.f", "temp.r"}, exitOK, "OK\n", ""},
		{[]string{"lens", "compose", "x", "nope", "temp.r"}, exitStatus, "", "ERR lens_not_found: no lens has that label\n"},
		{[]string{"lens", "query", "temp.f", "2"}, exitOK, "77\n", ""},
		{[]string{"lens", "query", "temp.f.r", "2"}, exitOK, "0.13235294117647056\n", ""},
		{[]string{"lens", "query", "temp.f.r", "1"}, exitOK, "(not found)\n", ""},
		{[]string{"lens", "query", "--bits", "temp.f", "1"}, exitOK, "0x4051000000000000\n", ""},
		{[]string{"lens", "query", "nope", "1"}, exitStatus, "", "ERR lens_not_found: no lens has that label\n"},
		{[]string{"lens", "list"}, exitOK, "temp.f\ntemp.f.r\ntemp.r\n", ""},
		{[]string{"lens", "drop", "temp.f"}, exitOK, "OK\n", ""},
		{[]string{"lens", "drop", "temp.f"}, exitStatus, "", "ERR lens_not_found: no lens has that label\n"},
		{[]string{"lens", "query", "temp.f.r", "2"}, exitOK, "0.13235294117647056\n", ""},
		{[]string{"lens", "list"}, exitOK, "temp.f.r\ntemp.r\n", ""},
	}
	for _, s := range steps {
		o := c.expect(s.code, s.stdout, s.stderr, s.args...)
		if s.code == exitOK && o.stdout != s.stdout {
			t.Errorf("tau %v printed %q, want exactly %q", s.args, o.stdout, s.stdout)
		}
	}
}

func TestLensUsage(t *testing.T) {
	c := newCLI(t)
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"lens"}, "lens wants a subcommand"},
		{[]string{"lens", "frob"}, `unknown lens subcommand "frob"`},
		{[]string{"lens", "create", "l", "s"}, "lens create wants LENS SOURCE TRANSFORM, got 2 arguments"},
		{[]string{"lens", "create", "l", "s", "kelvin"}, `transform "kelvin": want one of identity, celsius_to_fahrenheit`},
		{[]string{"lens", "create", strings.Repeat("x", 33), "s", "identity"}, "33 bytes; at most 32 fit"},
		{[]string{"lens", "compose", "a", "b"}, "lens compose wants NEW FIRST SECOND"},
		{[]string{"lens", "query", "l", "yesterday"}, `timestamp "yesterday"`},
		{[]string{"lens", "drop"}, "lens drop wants LENS"},
		{[]string{"lens", "list", "x"}, "lens list takes no arguments"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c.t = t
			c.expect(exitUsage, "", tc.stderr, tc.args...)
		})
	}
	o := c.expect(exitOK, "Usage: tau lens SUBCOMMAND", "", "lens", "help")
	for _, name := range protocol.Transforms {
		if !strings.Contains(o.stdout, name) {
			t.Errorf("tau lens help does not name %s", name)
		}
	}
	c.expect(exitOK, "Usage: tau lens query [flags] LENS TS", "", "lens", "query", "-h")
}

func TestLensesOnAnOldServer(t *testing.T) {
	s := clienttest.StartWith(t, nil, clienttest.Options{V1Only: true})
	c := &cli{t: t, env: map[string]string{"TAU_LISTEN_ADDRESS": s.Addr}}
	c.expect(exitStatus, "", "ERR bad_opcode: the server does not support LIST_LENSES", "lens", "list")
	c.expect(exitStatus, "", "ERR bad_opcode: the server does not support CREATE_LENS", "lens", "create", "l", "s", "identity")
}
