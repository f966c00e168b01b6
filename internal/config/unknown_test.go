package config

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestUnknownVariables(t *testing.T) {
	cases := []struct {
		name    string
		environ []string
		want    []UnknownVariable
	}{
		{"typo", []string{"TAU_LISTN_ADDRESS=0.0.0.0:7701"}, []UnknownVariable{{"TAU_LISTN_ADDRESS", "TAU_LISTEN_ADDRESS"}}},
		{"transposed", []string{"TAU_DATA_DRI=/d"}, []UnknownVariable{{"TAU_DATA_DRI", "TAU_DATA_DIR"}}},
		{"missing word", []string{"TAU_CAPACITY=5"}, []UnknownVariable{{"TAU_CAPACITY", "TAU_LENS_CAPACITY"}}},
		{"value is never kept", []string{"TAU_CERTIFICAT=" + strings.Repeat("ab", 32)},
			[]UnknownVariable{{"TAU_CERTIFICAT", "TAU_CERTIFICATE"}}},
		{"sorted", []string{"TAU_PPROFF=true", "TAU_FSINC=interval"},
			[]UnknownVariable{{"TAU_FSINC", "TAU_FSYNC"}, {"TAU_PPROFF", "TAU_PPROF"}}},
		{"known variables", []string{"TAU_LISTEN_ADDRESS=127.0.0.1:0", "TAU_RETENTION=30d", "TAU_PPROF=true"}, nil},
		{"not ours", []string{"PATH=/bin", "TAUX=1", "GOMEMLIMIT=1GiB", "TAU=1"}, nil},
		{"service links of the Service tau", []string{
			"TAU_PORT=tcp://10.0.0.1:7701", "TAU_PORT_7701_TCP=tcp://10.0.0.1:7701", "TAU_PORT_7701_TCP_PROTO=tcp",
			"TAU_PORT_7701_TCP_PORT=7701", "TAU_PORT_7701_TCP_ADDR=10.0.0.1", "TAU_SERVICE_HOST=10.0.0.1",
			"TAU_SERVICE_PORT=7701", "TAU_SERVICE_PORT_HTTP=7702", "TAU_PORT=", "TAU_SERVICE_ANYTHING=x",
		}, nil},
		{"service links of the Service tau-headless", []string{
			"TAU_HEADLESS_PORT=tcp://10.0.0.2:7701", "TAU_HEADLESS_PORT_7702_TCP_ADDR=10.0.0.2",
			"TAU_HEADLESS_SERVICE_HOST=10.0.0.2", "TAU_HEADLESS_SERVICE_PORT_TAU=7701",
		}, nil},
		{"a _PORT typo is not a service link", []string{"TAU_HTTP_PORT=7702"},
			[]UnknownVariable{{"TAU_HTTP_PORT", "TAU_HTTP_TLS"}}}, // nearest by edit distance, since TAU_HTTP_TLS exists
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := UnknownVariables(tc.environ); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("UnknownVariables(%q) = %+v, want %+v", tc.environ, got, tc.want)
			}
		})
	}
}

// TestKnownVariablesAreConfig: the known set is what Config reads, the rows of --help, with
// no hand-kept list beside it.
func TestKnownVariablesAreConfig(t *testing.T) {
	var help bytes.Buffer
	if err := Usage(&help); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(help.String()), "\n")[1:] {
		rows = append(rows, strings.Fields(line)[0])
	}
	if known := KnownVariables(); !slices.Equal(known, rows) || len(known) < reflect.TypeFor[Config]().NumField() {
		t.Fatalf("KnownVariables() = %v, want the %d rows of --help %v", known, len(rows), rows)
	}
	for _, v := range KnownVariables() {
		if got := UnknownVariables([]string{v + "=x"}); got != nil {
			t.Errorf("%s is reported unknown: %+v", v, got)
		}
	}
}

// TestNewFieldsAreKnown: a field added to a spec, nested or not, is known without being listed
// anywhere (the cluster, TLS and query settings other work adds to Config).
func TestNewFieldsAreKnown(t *testing.T) {
	type tls struct {
		CertFile string `split_words:"true"`
	}
	var spec struct {
		RequestTimeout   time.Duration `split_words:"true" default:"5s"`
		QueryMaxSamples  int           `split_words:"true"`
		InitialCluster   string        `split_words:"true"`
		TLS              tls
		TLSClientCAFile  string `envconfig:"TLS_CLIENT_CA_FILE"`
		HTTPTLS          bool   `split_words:"true"`
		QueryConcurrency int    `split_words:"true"`
	}
	got := variablesOf(&spec)
	want := []string{"TAU_REQUEST_TIMEOUT", "TAU_QUERY_MAX_SAMPLES", "TAU_INITIAL_CLUSTER", "TAU_TLS_CERT_FILE",
		"TAU_TLS_CLIENT_CA_FILE", "TAU_HTTPTLS", "TAU_QUERY_CONCURRENCY"}
	if !slices.Equal(got, want) {
		t.Fatalf("variablesOf = %v, want %v", got, want)
	}
}

func TestEditDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"TAU_LISTN_ADDRESS", "TAU_LISTEN_ADDRESS", 1}, {"TAU_FSYNC", "TAU_FSYNC", 0}, {"ab", "ba", 2},
	}
	for _, tc := range cases {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
