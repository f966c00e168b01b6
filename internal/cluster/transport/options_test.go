package transport

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestOptions_Validate(t *testing.T) {
	good := func() Options { return Options{ClusterID: 1, NodeID: 1, Secret: testSecret} }
	cases := []struct {
		name    string
		edit    func(*Options)
		wantErr string
	}{
		{"defaults", func(*Options) {}, ""},
		{"node 0", func(o *Options) { o.NodeID = 0 }, "NodeID"},
		{"short secret", func(o *Options) { o.Secret = testSecret[:16] }, "32 bytes"},
		{"short accepted secret", func(o *Options) { o.AcceptSecrets = [][]byte{testSecret, testSecret[:8]} }, "AcceptSecrets"},
		{"TLS without a client config", func(o *Options) { o.TLS = &tls.Config{} }, "go together"},
		{"client TLS alone", func(o *Options) { o.ClientTLS = &tls.Config{} }, "go together"},
		{"message above the queue", func(o *Options) { o.QueueBytes, o.MaxMessageBytes = 1<<20, 2<<20 }, "MaxMessageBytes"},
		{"chunk above the message", func(o *Options) { o.SnapshotChunk = 32 << 20 }, "SnapshotChunk"},
		{"tiny window", func(o *Options) { o.WindowBytes = 1000 }, "WindowBytes"},
		{"backoff upside down", func(o *Options) { o.MinBackoff, o.MaxBackoff = 2e9, 1e9 }, "MinBackoff"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := good()
			c.edit(&o)
			o.setDefaults()
			err := o.validate()
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got %v, want an error naming %s", err, c.wantErr)
			}
		})
	}
}

func TestNew_NeedsHandlerAndSnapshots(t *testing.T) {
	o := Options{ClusterID: 1, NodeID: 1, Secret: testSecret}
	if _, err := New(o, nil, genSnapshot{}, &sink{}); err == nil {
		t.Fatal("New without a Handler")
	}
}
