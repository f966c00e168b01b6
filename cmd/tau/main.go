// Command tau is the command-line client for a Tau server, in the spirit of redis-cli, plus a
// load generator in the spirit of redis-benchmark (tau bench).
//
// Exit codes: 0 success; 1 the server answered with an error status; 2 usage (bad flags,
// arguments, certificate); 3 the connection failed (refused, lost, timed out).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/taudb/tau/pkg/client"
)

// Exit codes, documented in the package comment and in usage.
const (
	exitOK     = 0
	exitStatus = 1
	exitUsage  = 2
	exitConn   = 3
)

const usage = `Usage: tau [connection flags] COMMAND [flags] [ARGS]

Commands:
  ping                      check the server answers (prints PONG)
  create LABEL              create a series
  drop LABEL                drop a series and all its points
  append LABEL TS VALUE     add a point at TS (see below);
                            VALUE is a float64 (NaN, Inf, -Inf accepted), or its bits with --bits
  query LABEL TS            print the value at exactly TS, or (not found)
  range LABEL FROM TO       print the points with FROM <= ts < TO, or with --agg and --bucket
                            one aggregate per bucket; --format table|csv|json, --bits
  export LABEL FROM TO      write the points as CSV (ts,value; values round-trip exactly),
                            or ts,bits with --bits
  import FILE LABEL         append the ts,value rows of FILE (- for stdin; export's CSV, header
                            optional, ts,bits read as bits) with APPEND_BATCH, --batch points
                            each (default 1000), a few in flight; --create makes the series;
                            a progress bar on a terminal, then a summary line. --timeout
                            bounds each exchange, not the whole import
  list [PREFIX]             list the series' labels (those beginning with PREFIX)
  info LABEL                print the series' number of points, first and last timestamps
  plot LABEL FROM TO        draw the series in the terminal ($COLUMNS x $LINES, or --width,
                            --height; default 80x24): min/max envelope per column, braille
  lens create LENS SOURCE TRANSFORM
                            make a lens: a named view of series SOURCE through TRANSFORM
                            (identity, celsius_to_fahrenheit, returns, … tau lens help)
  lens compose NEW FIRST SECOND
                            make lens NEW: FIRST's transforms, then SECOND's
  lens query LENS TS        print the lens' value at exactly TS, or (not found)
  lens drop LENS            remove a lens
  lens list                 print every lens label
  cluster list | add NAME HOST:PORT | remove NAME
                            a cluster's members, through a member's HTTP port (--http;
                            tau cluster help)
  bench [flags]             load test (tau bench -h for its flags)
  version                   print this build's version, revision, Go version and build date
  help                      this text

LABEL is a name of at most 32 bytes (zero-padded), or hex:<64 hex digits> for raw bytes.
TS, FROM and TO are nanoseconds since the epoch, now, a time relative to now (-1h, now-30m)
or RFC 3339. Flags may come before or after the arguments. range, export, list, info and
plot need a server with the read extensions, import one with APPEND_BATCH, lens one with
lenses; an older one answers bad_opcode (exit 1).

Connection flags (before or after COMMAND):
  --addr HOST:PORT     server address (env TAU_LISTEN_ADDRESS, default 127.0.0.1:7701)
  --cert HEX           certificate, 64 hex characters (env TAU_CERTIFICATE)
  --cert-file PATH     file holding the certificate (env TAU_CERTIFICATE_FILE)
  --timeout DURATION   time allowed for the whole command (default 5s)
  With no certificate given, the development certificate is used. Where the server's
  variables or file hold several certificates (a rotation), the first one is used.

TLS (a server with TAU_TLS_CERT_FILE; any of these turns TLS on, each flag over its variable):
  --tls                    speak TLS, verifying the server with the system's CAs (env TAU_TLS=true)
  --tls-ca PATH            PEM CA bundle to verify the server with instead (env TAU_TLS_CA_FILE)
  --tls-cert PATH          PEM client certificate, for mutual TLS (env TAU_TLS_CLIENT_CERT_FILE)
  --tls-key PATH           its PEM key (env TAU_TLS_CLIENT_KEY_FILE)
  --tls-server-name NAME   name the server's certificate must hold; default the host of
                           --addr (env TAU_TLS_SERVER_NAME)

Exit codes: 0 ok, 1 the server answered an error status, 2 usage, 3 connection failure.
`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// usageError is a mistake in the command line; it exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// env is os.Getenv, replaceable in tests.
type env func(string) string

// run is the whole program: it parses args, runs the command and returns the exit code.
func run(args []string, getenv env, stdout, stderr io.Writer) int {
	var cf connFlags
	global := flag.NewFlagSet("tau", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	cf.register(global)
	if err := global.Parse(args); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			err = usagef("%v", err)
		}
		return report(stdout, stderr, err)
	}
	if global.NArg() == 0 {
		_, _ = fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd := &command{conn: &cf, env: getenv, stdout: stdout, stderr: stderr}
	return report(stdout, stderr, cmd.dispatch(global.Arg(0), global.Args()[1:]))
}

// report prints err the way its kind asks for and picks the exit code.
func report(stdout, stderr io.Writer, err error) int {
	var ue *usageError
	var se *client.StatusError
	var ae *apiError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelpShown):
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		_, _ = fmt.Fprint(stdout, usage)
		return exitOK
	case errors.As(err, &ue):
		_, _ = fmt.Fprintf(stderr, "tau: %s\nRun 'tau help' for usage.\n", ue.msg)
		return exitUsage
	case errors.As(err, &se) && errors.Is(err, client.ErrUnsupported):
		_, _ = fmt.Fprintf(stderr, "ERR %s: the server does not support %s (it lacks the extensions, as 1.3.0 does)\n", se.Status, se.Op)
		return exitStatus
	case errors.As(err, &se):
		_, _ = fmt.Fprintf(stderr, "ERR %s: %s\n", se.Status, client.Meaning(se.Status))
		return exitStatus
	case errors.Is(err, errBenchFailures):
		return exitStatus // the summary already said which requests failed and why
	case errors.As(err, &ae):
		_, _ = fmt.Fprintln(stderr, "tau: "+ae.msg)
		return exitStatus
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "tau: ") {
		msg = "tau: " + msg
	}
	_, _ = fmt.Fprintln(stderr, msg)
	return exitConn
}
