package transport

import (
	"crypto/tls"
	"errors"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Options configure a Transport. The zero value of every field but ClusterID, NodeID and Secret
// has a working default.
type Options struct {
	ClusterID uint64 // a node of another cluster is refused
	NodeID    uint64 // this node's Raft id; never 0
	// Secret is the shared certificate (32 bytes, the same on every member): each end of a
	// stream proves it holds it (auth.go). It is never sent.
	Secret []byte
	// AcceptSecrets are also accepted as a peer's proof, during a rotation of the certificate
	// (each 32 bytes): members first accept the new one, then prove with it, then drop the old.
	AcceptSecrets [][]byte
	// Group is the Raft group this transport carries (0 today). Every message names its group;
	// a message of another group is refused.
	Group uint64
	// Removed, when set, says a node id was removed from the cluster: its streams are refused
	// (before the proof: being removed is no secret), and it hears so; OnRemoved is called
	// when a peer refuses this node as removed (C8: a removed node stops serving).
	Removed   func(id uint64) bool
	OnRemoved func()

	// TLS is the listener's configuration and ClientTLS the dialer's: both or neither (then the
	// peer port is plaintext). Mutual TLS is theirs to set up (ClientAuth, Certificates).
	TLS       *tls.Config
	ClientTLS *tls.Config

	Logger     *zap.Logger           // nil: no logs
	Registerer prometheus.Registerer // nil: metrics are kept but not registered

	QueueSize       int // per peer, queued messages at most; default 4096
	QueueBytes      int // per peer, queued bytes at most; default 64 MiB
	MaxMessageBytes int // one frame at most, either way (gRPC's message limit); default 32 MiB
	SnapshotChunk   int // bytes of snapshot data a frame; default 1 MiB
	// BatchBytes: queued messages are coalesced into frames of this many bytes at most, one
	// gRPC message each (a larger message goes alone); default 256 KiB, 1 sends each alone.
	BatchBytes int
	// WindowBytes is gRPC's flow-control window of each stream, fixed (no BDP growth): what a
	// peer that reads nothing can leave in flight towards it, and in its own receive buffers;
	// default 4 MiB (snapshots stream faster than with 1 MiB: docs/cluster.md).
	WindowBytes  int
	PingInterval time.Duration // how often each message stream measures its round trip; default 1 s
	DialTimeout  time.Duration // a stream's handshake at most; default 5 s
	MinBackoff   time.Duration // first wait before reconnecting to a peer; default 100 ms
	MaxBackoff   time.Duration // longest wait before reconnecting; default 5 s
}

const secretSize = 32

func (o *Options) setDefaults() {
	defaults := []struct {
		v *int
		d int
	}{
		{&o.QueueSize, 4096}, {&o.QueueBytes, 64 << 20}, {&o.MaxMessageBytes, 32 << 20}, {&o.SnapshotChunk, 1 << 20}, {&o.WindowBytes, 4 << 20}, {&o.BatchBytes, 256 << 10},
	}
	for _, d := range defaults {
		if *d.v <= 0 {
			*d.v = d.d
		}
	}
	durations := []struct {
		v *time.Duration
		d time.Duration
	}{
		{&o.PingInterval, time.Second}, {&o.DialTimeout, 5 * time.Second},
		{&o.MinBackoff, 100 * time.Millisecond}, {&o.MaxBackoff, 5 * time.Second},
	}
	for _, d := range durations {
		if *d.v <= 0 {
			*d.v = d.d
		}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
}

func (o *Options) validate() error {
	switch {
	case o.NodeID == 0:
		return errors.New("transport: NodeID must not be 0 (Raft's none)")
	case len(o.Secret) != secretSize:
		return errors.New("transport: Secret must be 32 bytes")
	case slices.ContainsFunc(o.AcceptSecrets, func(s []byte) bool { return len(s) != secretSize }):
		return errors.New("transport: every AcceptSecrets entry must be 32 bytes")
	case (o.TLS == nil) != (o.ClientTLS == nil):
		return errors.New("transport: TLS and ClientTLS go together: a TLS listener needs TLS dialers")
	case o.MaxMessageBytes > o.QueueBytes:
		return errors.New("transport: MaxMessageBytes must not exceed QueueBytes, or a large message could never be queued")
	case o.BatchBytes > o.MaxMessageBytes:
		return errors.New("transport: BatchBytes must not exceed MaxMessageBytes")
	case o.SnapshotChunk+1024 > o.MaxMessageBytes:
		return errors.New("transport: SnapshotChunk must leave room under MaxMessageBytes")
	case o.WindowBytes < 64<<10 || o.WindowBytes > 256<<20:
		return errors.New("transport: WindowBytes must be between 64 KiB (gRPC's least) and 256 MiB")
	case o.MinBackoff > o.MaxBackoff:
		return errors.New("transport: MinBackoff exceeds MaxBackoff")
	}
	return nil
}
