// Package config is the operator's contract: every TAU_* environment variable, its default, its
// validation, and the certificate it resolves to. README.md's "Configuration" section documents
// it; its table of variables is generated from Config's tags.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/tlsconfig"
)

// Prefix of every variable. Field names are split into words (ListenAddress →
// TAU_LISTEN_ADDRESS); no field has an explicit envconfig name, because envconfig falls back to
// the unprefixed name for those, and Kubernetes injects look-alikes (TAU_PORT, TAU_SERVICE_*).
const Prefix = "TAU"

// MinPayloadBytes is the smallest TAU_MAX_PAYLOAD_BYTES allowed: the largest fixed-size request
// of the wire (a CREATE_LENS or COMPOSE_LENS, 96 bytes), so every request the server implements
// fits. The server's tests check it against the wire package, so config need not import it.
const MinPayloadBytes = 96

// MaxLensCapacity bounds TAU_LENS_CAPACITY: LIST_LENSES answers every label in one frame (32
// bytes each, E5), and clients bound the frames they read (pkg/client reads up to 32 MiB).
const MaxLensCapacity = 1 << 20

// Fsync policies.
const (
	FsyncAlways   = "always"
	FsyncInterval = "interval"
)

// Config is every setting of the server. The tags are the one source of the variables'
// documentation: `tau-server --help` (Usage) and the README's table (MarkdownTable, checked by
// TestREADMEConfigTable) are generated from them. A desc is plain text on one line, without "|".
type Config struct {
	ListenAddress     string        `split_words:"true" default:"127.0.0.1:7701" desc:"TAU protocol listener, host:port"`
	HTTPAddress       string        `split_words:"true" default:"127.0.0.1:7702" desc:"HTTP listener, host:port: /metrics, /healthz, /readyz (and /debug/pprof/ with TAU_PPROF=true)"`
	Certificate       string        `split_words:"true" desc:"the 32-byte pre-shared certificate as 64 hex characters; several (at most 8), comma-separated, are all accepted"`
	CertificateFile   string        `split_words:"true" desc:"a file holding the certificate (64 hex characters, surrounding white space ignored, or exactly 32 raw bytes), or several (at most 8), one hex certificate a line, all accepted, as a Kubernetes Secret is mounted; reloaded for new CONNECTs when it changes (an invalid change is logged and the old certificates stay)"`
	MaxConnections    int           `split_words:"true" default:"1024" desc:"concurrent connections; the next gets ERR busy and is closed"`
	ConnectionTimeout time.Duration `split_words:"true" default:"30s" desc:"idle timeout (Go duration), also for a client that stops reading"`
	MaxPayloadBytes   int           `split_words:"true" default:"1048576" desc:"largest request payload"`
	CatalogCapacity   int           `split_words:"true" default:"10000" desc:"most series"`
	ActorPoolSize     int           `split_words:"true" default:"0" desc:"worker goroutines; 0 = number of CPUs"`
	MailboxCapacity   int           `split_words:"true" default:"1024" desc:"per-series mailbox; a full one answers ERR busy"`
	DataDir           string        `split_words:"true" default:"data" desc:"where the log, checkpoints and lenses live (created if missing); one server per directory: a second one exits 2, naming the holder's PID (flock on LOCK)"`
	Retention         time.Duration `split_words:"true" default:"0" desc:"how long points are kept, counted back from each series' newest point: a Go duration (720h) or days (30d, 1d12h); 0 keeps everything (protocol extension E6)"`
	LensCapacity      int           `split_words:"true" default:"1000" desc:"most lenses (protocol extension E5); a new one beyond it gets ERR internal_error"`
	Fsync             string        `split_words:"true" default:"always" desc:"always: OK after fsync (group commit); interval: OK after the write reaches the OS, fsync every TAU_FSYNC_INTERVAL"`
	FsyncInterval     time.Duration `split_words:"true" default:"1s" desc:"fsync period for TAU_FSYNC=interval"`
	ShutdownTimeout   time.Duration `split_words:"true" default:"20s" desc:"how long SIGTERM waits for in-flight requests before closing connections"`
	LogLevel          string        `split_words:"true" default:"info" desc:"debug, info, warn or error"`
	LogFormat         string        `split_words:"true" default:"json" desc:"json or console"`
	Pprof             bool          `split_words:"true" default:"false" desc:"serve Go's /debug/pprof/ on the HTTP port; off by default, since that port is usually reachable by any scraper and profiles cost CPU and reveal internals"`
	TLSCertFile       string        `split_words:"true" desc:"PEM certificate chain; with TAU_TLS_KEY_FILE (both or neither) the TAU port speaks only TLS (1.2 or later); reloaded for new handshakes when it changes (an invalid change is logged and the old pair stays)"`
	TLSKeyFile        string        `split_words:"true" desc:"PEM private key of TAU_TLS_CERT_FILE"`
	TLSClientCAFile   string        `split_words:"true" desc:"PEM CA bundle: when set, a client must present a certificate one of them signed (mutual TLS), on top of CONNECT; not on the HTTP port"`
	// HTTPTLS is TAU_HTTP_TLS: specType names it HttpTLS, since envconfig splits words at a
	// lower-case letter and would read HTTPTLS as TAU_HTTPTLS.
	HTTPTLS bool `split_words:"true" default:"false" desc:"also serve the HTTP port with the TLS pair, HTTPS only (probes and scrapes then use HTTPS)"`
	// Cluster mode (cluster.go).
	InitialCluster         string        `split_words:"true" desc:"cluster mode: the founding members as name=host:port (their peer addresses), comma-separated, the same on every member; unset: one node"`
	NodeName               string        `split_words:"true" desc:"cluster mode: this node's name in TAU_INITIAL_CLUSTER (default: the host name); a name not in it joins a running cluster once added with tau cluster add"`
	PeerAddress            string        `split_words:"true" desc:"cluster mode: where this node listens for its peers, host:port (default: 0.0.0.0 and the port of this node's entry)"`
	RequestTimeout         time.Duration `split_words:"true" default:"5s" desc:"cluster mode: how long a request waits for the cluster (then busy if nothing was done, internal_error if its outcome is unknown)"`
	ClusterSnapshotEntries uint64        `split_words:"true" default:"100000" desc:"cluster mode: log entries applied between two snapshots of the whole state, after each of which the Raft log is compacted (a member that falls further behind is sent the snapshot)"`
	ForceNewCluster        bool          `split_words:"true" default:"false" desc:"cluster mode, after a majority is lost for good: start this member alone as a new cluster with its data (every other member removed from its log, as etcd's --force-new-cluster); a one-off: unset it once the member runs, then add members with tau cluster add"`
	// ClusterAcceptFsyncDataLoss is the operator's acceptance of TAU_FSYNC=interval in
	// cluster mode, which is refused without it.
	ClusterAcceptFsyncDataLoss bool `split_words:"true" default:"false" desc:"cluster mode: accept TAU_FSYNC=interval, under which a crash can lose a vote or an entry a majority counted on, and Raft is then unsafe (acknowledged writes can be lost)"`
}

// Load reads the environment and validates it. Errors are one line naming the variable, the
// value (never the certificate's) and what is expected.
func Load() (Config, error) {
	spec := newSpec()
	if err := envconfig.Process(Prefix, spec.Addr().Interface()); err != nil {
		return Config{}, explain(err)
	}
	var c Config
	dst := reflect.ValueOf(&c).Elem()
	for i := range dst.NumField() {
		dst.Field(i).Set(spec.Field(i).Convert(dst.Field(i).Type()))
	}
	return c, c.Validate()
}

// specType is Config as envconfig reads it: the same fields, in the same order, with the same
// tags, except that Retention is a DurationOrDays, whose Decode also takes days (30d), and
// HTTPTLS is named so that envconfig reads TAU_HTTP_TLS. Config keeps a plain time.Duration
// for its users; envconfig would parse that with time.ParseDuration, which knows no days.
var specType = func() reflect.Type {
	t := reflect.TypeFor[Config]()
	fields := make([]reflect.StructField, t.NumField())
	for i := range fields {
		fields[i] = t.Field(i)
		switch fields[i].Name {
		case "Retention":
			fields[i].Type = reflect.TypeFor[DurationOrDays]()
		case "HTTPTLS":
			fields[i].Name = "HttpTLS" // TAU_HTTP_TLS
		}
	}
	return reflect.StructOf(fields)
}()

// newSpec is an addressable zero value of specType.
func newSpec() reflect.Value { return reflect.New(specType).Elem() }

// RetentionSyntax is what TAU_RETENTION accepts, as error messages say it.
const RetentionSyntax = "0 (keep everything) or a positive Go duration such as 720h, or days such as 30d or 1d12h"

// maxDays is the most days a time.Duration holds (about 292 years).
const maxDays = int64(1<<63-1) / int64(24*time.Hour)

// DurationOrDays is TAU_RETENTION as envconfig decodes it (see ParseRetention); its name is the
// TYPE column of --help.
type DurationOrDays time.Duration

// Decode implements envconfig.Decoder.
func (d *DurationOrDays) Decode(s string) error {
	v, err := ParseRetention(s)
	if err != nil {
		return err
	}
	*d = DurationOrDays(v)
	return nil
}

// ParseRetention parses a retention: a Go duration (0, 90m, 720h), or a whole number of days
// with "d" (30d), which a Go duration without a sign may follow (1d12h, 7d30m). Negative
// values and values beyond a time.Duration are refused. Errors say what is expected, not the
// value (the caller names the variable and the value).
func ParseRetention(s string) (time.Duration, error) {
	syntax := errors.New("want " + RetentionSyntax)
	days, rest, hasDays := strings.Cut(s, "d")
	if !hasDays {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			return 0, syntax
		case d < 0:
			return 0, errors.New("it is negative: want " + RetentionSyntax)
		}
		return d, nil
	}
	if days == "" || strings.Trim(days, "0123456789") != "" {
		if strings.HasPrefix(days, "-") {
			return 0, errors.New("it is negative: want " + RetentionSyntax)
		}
		return 0, syntax
	}
	n, err := strconv.ParseInt(days, 10, 64)
	if err != nil || n > maxDays {
		return 0, fmt.Errorf("it is longer than a Go duration holds: want at most %dd", maxDays)
	}
	d := time.Duration(n) * 24 * time.Hour
	if rest == "" {
		return d, nil
	}
	if rest[0] == '+' || rest[0] == '-' || rest == "0" { // after days, a duration with a unit
		return 0, syntax
	}
	r, err := time.ParseDuration(rest)
	if err != nil {
		return 0, syntax
	}
	if d+r < d {
		return 0, fmt.Errorf("it is longer than a Go duration holds: want at most %dd", maxDays)
	}
	return d + r, nil
}

// Default is the configuration with every default and no environment.
func Default() Config {
	return Config{
		ListenAddress: "127.0.0.1:7701", HTTPAddress: "127.0.0.1:7702",
		MaxConnections: 1024, ConnectionTimeout: 30 * time.Second, MaxPayloadBytes: 1 << 20,
		CatalogCapacity: 10000, MailboxCapacity: 1024, DataDir: "data", LensCapacity: 1000,
		Fsync: FsyncAlways, FsyncInterval: time.Second, ShutdownTimeout: 20 * time.Second,
		LogLevel: "info", LogFormat: "json", RequestTimeout: 5 * time.Second, ClusterSnapshotEntries: 100000,
	}
}

// usageFormat is the --help listing: a row per variable, from the struct's tags.
const usageFormat = "VARIABLE\tTYPE\tDEFAULT\tMEANING\n" +
	"{{range .}}{{usage_key .}}\t{{usage_type .}}\t{{with usage_default .}}{{.}}{{else}}-{{end}}\t{{usage_description .}}\n{{end}}"

// Usage writes every variable with its type, default and meaning (tau-server --help).
func Usage(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 1, 0, 2, ' ', 0)
	if err := envconfig.Usagef(Prefix, newSpec().Addr().Interface(), tw, usageFormat); err != nil {
		return err
	}
	return tw.Flush()
}

// markdownFormat is the README's TAU_* table, from the same tags as Usage.
const markdownFormat = "| variable | default | meaning |\n|---|---|---|\n" +
	"{{range .}}| `{{usage_key .}}` | {{with usage_default .}}`{{.}}`{{else}}—{{end}} | {{usage_description .}} |\n{{end}}"

// MarkdownTable writes the variables as the Markdown table the README holds.
func MarkdownTable(w io.Writer) error {
	return envconfig.Usagef(Prefix, newSpec().Addr().Interface(), w, markdownFormat)
}

// explain turns envconfig's parse error into the one-line message README.md ("Configuration")
// promises.
func explain(err error) error {
	var pe *envconfig.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	if pe.TypeName == reflect.TypeFor[DurationOrDays]().String() {
		return fmt.Errorf("%s=%q is invalid: %w", pe.KeyName, pe.Value, pe.Err)
	}
	want := map[string]string{
		"int": "an integer", "time.Duration": "a Go duration such as 30s or 500ms", "bool": "true or false",
	}[pe.TypeName]
	if want == "" {
		want = "a value of type " + pe.TypeName
	}
	return fmt.Errorf("%s=%q is invalid: want %s", pe.KeyName, pe.Value, want)
}

// Validate checks ranges and combinations.
func (c Config) Validate() error {
	checks := []struct {
		ok        bool
		name, val string
		want      string
	}{
		{validAddress(c.ListenAddress), "LISTEN_ADDRESS", c.ListenAddress, "host:port"},
		{validAddress(c.HTTPAddress), "HTTP_ADDRESS", c.HTTPAddress, "host:port"},
		{c.MaxConnections >= 1, "MAX_CONNECTIONS", fmt.Sprint(c.MaxConnections), "at least 1"},
		{c.ConnectionTimeout > 0, "CONNECTION_TIMEOUT", c.ConnectionTimeout.String(), "a positive duration"},
		{c.MaxPayloadBytes >= MinPayloadBytes && c.MaxPayloadBytes <= 1<<31-1, "MAX_PAYLOAD_BYTES",
			fmt.Sprint(c.MaxPayloadBytes), fmt.Sprintf("between %d (a CREATE_LENS) and 2147483647", MinPayloadBytes)},
		{c.CatalogCapacity >= 1, "CATALOG_CAPACITY", fmt.Sprint(c.CatalogCapacity), "at least 1"},
		{c.ActorPoolSize >= 0, "ACTOR_POOL_SIZE", fmt.Sprint(c.ActorPoolSize), "0 (one per CPU) or more"},
		{c.MailboxCapacity >= 1, "MAILBOX_CAPACITY", fmt.Sprint(c.MailboxCapacity), "at least 1"},
		{c.DataDir != "", "DATA_DIR", c.DataDir, "a directory path"},
		{c.Retention >= 0, "RETENTION", c.Retention.String(), RetentionSyntax},
		{c.LensCapacity >= 1 && c.LensCapacity <= MaxLensCapacity, "LENS_CAPACITY", fmt.Sprint(c.LensCapacity),
			fmt.Sprintf("between 1 and %d", MaxLensCapacity)},
		{c.Fsync == FsyncAlways || c.Fsync == FsyncInterval, "FSYNC", c.Fsync, "always or interval"},
		{c.FsyncInterval > 0, "FSYNC_INTERVAL", c.FsyncInterval.String(), "a positive duration"},
		{c.ShutdownTimeout >= 0, "SHUTDOWN_TIMEOUT", c.ShutdownTimeout.String(), "a duration of 0 or more"},
		{oneOf(c.LogLevel, "debug", "info", "warn", "error"), "LOG_LEVEL", c.LogLevel, "debug, info, warn or error"},
		{oneOf(c.LogFormat, "json", "console"), "LOG_FORMAT", c.LogFormat, "json or console"},
	}
	for _, ch := range checks {
		if !ch.ok {
			return fmt.Errorf("%s_%s=%q is invalid: want %s", Prefix, ch.name, ch.val, ch.want)
		}
	}
	if c.Certificate != "" && c.CertificateFile != "" {
		return errors.New("TAU_CERTIFICATE and TAU_CERTIFICATE_FILE are both set: set only one")
	}
	if c.Certificate != "" {
		if _, err := auth.ParseList(c.Certificate); err != nil {
			return fmt.Errorf("TAU_CERTIFICATE is invalid: %w", err)
		}
	}
	if err := c.validateTLS(); err != nil {
		return err
	}
	if err := c.validateCluster(); err != nil {
		return err
	}
	if c.Certificate == "" && c.CertificateFile == "" && !IsLoopback(c.ListenAddress) {
		return fmt.Errorf("TAU_LISTEN_ADDRESS=%q is not a loopback address, so the development certificate is refused: set TAU_CERTIFICATE_FILE or TAU_CERTIFICATE", c.ListenAddress)
	}
	return nil
}

// validateTLS checks the TLS variables' combinations; CheckTLS reads the files.
func (c Config) validateTLS() error {
	switch {
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		return errors.New("TAU_TLS_CERT_FILE and TAU_TLS_KEY_FILE go together: set both or neither")
	case c.TLSClientCAFile != "" && !c.TLSEnabled():
		return errors.New("TAU_TLS_CLIENT_CA_FILE is set without TAU_TLS_CERT_FILE and TAU_TLS_KEY_FILE: mutual TLS needs the server's own pair")
	case c.HTTPTLS && !c.TLSEnabled():
		return errors.New("TAU_HTTP_TLS=true without TAU_TLS_CERT_FILE and TAU_TLS_KEY_FILE: HTTPS needs the pair")
	}
	return nil
}

// TLSEnabled reports whether the TAU port speaks TLS.
func (c Config) TLSEnabled() bool { return c.TLSCertFile != "" && c.TLSKeyFile != "" }

// TLSFiles are the TLS files, for tlsconfig.
func (c Config) TLSFiles() tlsconfig.Files {
	return tlsconfig.Files{CertFile: c.TLSCertFile, KeyFile: c.TLSKeyFile, ClientCAFile: c.TLSClientCAFile}
}

// CheckTLS reads and checks the TLS files when TLS is on: a missing or unreadable file, a key
// that does not match, or a bad CA bundle is a configuration error, as an invalid variable is.
func (c Config) CheckTLS() error {
	if !c.TLSEnabled() {
		return nil
	}
	return tlsconfig.Check(c.TLSFiles())
}

// PoolSize resolves TAU_ACTOR_POOL_SIZE=0 to the CPU count.
func (c Config) PoolSize() int {
	if c.ActorPoolSize == 0 {
		return runtime.NumCPU()
	}
	return c.ActorPoolSize
}

// UsesDevCertificate reports whether no certificate is configured.
func (c Config) UsesDevCertificate() bool { return c.Certificate == "" && c.CertificateFile == "" }

// LoadCertificates resolves the accepted certificates: TAU_CERTIFICATE's list, the file's
// lines, or the dev certificate. Position i is entry or line i+1, the position
// tau_auth_connects_total counts CONNECTs by.
func (c Config) LoadCertificates() ([]auth.Certificate, error) {
	switch {
	case c.Certificate != "":
		certs, err := auth.ParseList(c.Certificate)
		if err != nil {
			return nil, fmt.Errorf("TAU_CERTIFICATE is invalid: %w", err)
		}
		return certs, nil
	case c.CertificateFile != "":
		return ReadCertificateFile(c.CertificateFile)
	}
	return []auth.Certificate{auth.DevCertificate}, nil
}

// ReadCertificateFile reads and parses a certificate file; errors name the file and the line,
// never the content.
func ReadCertificateFile(path string) ([]auth.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("TAU_CERTIFICATE_FILE=%q cannot be read: %w", path, errors.Unwrap(err))
	}
	certs, err := auth.ParseFile(b)
	if err != nil {
		return nil, fmt.Errorf("TAU_CERTIFICATE_FILE=%q is invalid: %w", path, err)
	}
	return certs, nil
}

// IsLoopback reports whether a host:port names a loopback host.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validAddress(a string) bool {
	_, port, err := net.SplitHostPort(a)
	return err == nil && port != ""
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}

// Effective is the config as logged at start, keyed by variable name. The certificate is
// replaced by where it came from.
func (c Config) Effective() map[string]string {
	cert := "development certificate"
	switch {
	case c.Certificate != "":
		cert = "TAU_CERTIFICATE (hidden)"
	case c.CertificateFile != "":
		cert = "TAU_CERTIFICATE_FILE=" + c.CertificateFile
	}
	return map[string]string{
		"TAU_LISTEN_ADDRESS": c.ListenAddress, "TAU_HTTP_ADDRESS": c.HTTPAddress, "certificate": cert,
		"TAU_MAX_CONNECTIONS": fmt.Sprint(c.MaxConnections), "TAU_CONNECTION_TIMEOUT": c.ConnectionTimeout.String(),
		"TAU_MAX_PAYLOAD_BYTES": fmt.Sprint(c.MaxPayloadBytes), "TAU_CATALOG_CAPACITY": fmt.Sprint(c.CatalogCapacity),
		"TAU_ACTOR_POOL_SIZE":  fmt.Sprintf("%d (%d workers)", c.ActorPoolSize, c.PoolSize()),
		"TAU_MAILBOX_CAPACITY": fmt.Sprint(c.MailboxCapacity), "TAU_DATA_DIR": c.DataDir,
		"TAU_RETENTION": effectiveRetention(c.Retention), "TAU_LENS_CAPACITY": fmt.Sprint(c.LensCapacity), "TAU_FSYNC": c.Fsync, "TAU_FSYNC_INTERVAL": c.FsyncInterval.String(),
		"TAU_SHUTDOWN_TIMEOUT": c.ShutdownTimeout.String(), "TAU_LOG_LEVEL": c.LogLevel, "TAU_LOG_FORMAT": c.LogFormat,
		"TAU_PPROF": fmt.Sprint(c.Pprof), "TAU_TLS_CERT_FILE": c.TLSCertFile, "TAU_TLS_KEY_FILE": c.TLSKeyFile,
		"TAU_TLS_CLIENT_CA_FILE": c.TLSClientCAFile, "TAU_HTTP_TLS": fmt.Sprint(c.HTTPTLS),
		"TAU_INITIAL_CLUSTER": c.InitialCluster, "TAU_NODE_NAME": c.NodeName, "TAU_PEER_ADDRESS": c.PeerAddress,
		"TAU_REQUEST_TIMEOUT": c.RequestTimeout.String(), "TAU_CLUSTER_ACCEPT_FSYNC_DATA_LOSS": fmt.Sprint(c.ClusterAcceptFsyncDataLoss),
		"TAU_CLUSTER_SNAPSHOT_ENTRIES": fmt.Sprint(c.ClusterSnapshotEntries), "TAU_FORCE_NEW_CLUSTER": fmt.Sprint(c.ForceNewCluster),
	}
}

// effectiveRetention is TAU_RETENTION as logged at start: 0 is spelled out, since "0s" alone
// could read as "keep nothing".
func effectiveRetention(d time.Duration) string {
	if d == 0 {
		return "0s (keep everything)"
	}
	return d.String()
}
