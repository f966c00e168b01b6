// Package transport carries a node's Raft messages to its peers and theirs to it, over gRPC
// streams, as TiKV and CockroachDB carry Raft: HTTP/2 gives per-stream flow control, gRPC gives
// keepalives, reconnection with backoff, message-size limits and TLS (mutual when the TLS
// configurations ask for it), all well kept and none of it framing of our own.
//
// Each peer gets two connections from this node: one for a bidirectional message stream (Raft's
// messages one way, in order; pongs the other, for tau_cluster_peer_round_trip_seconds) and one
// for snapshot streams, so that megabytes of chunk files never sit in the same TCP stream ahead
// of a heartbeat. Send never blocks: it encodes each message once and puts it in the peer's
// queue, bounded in messages and in bytes; a full queue drops the message, counts it and
// reports the peer unreachable, which is what Raft expects of a lossy network (it retransmits
// and probes). A failed stream is reported the same way and reopened after a jittered,
// growing wait.
//
// Every stream starts with a challenge and response in both directions (auth.go): each end
// proves, with an HMAC-SHA256 keyed by the shared secret over the cluster id, both node ids and
// both ends' fresh nonces, that it holds the secret, which is never sent. A node of another
// cluster, a stream meant for another node id and a wrong proof are refused, counted in
// tau_cluster_peer_auth_failures_total and logged once at debug level. Every message frame names
// its Raft group (0 today), and a group this transport does not carry is refused, so that
// sharding into several groups later needs no change of format.
//
// There is no protoc step. The Raft messages are go.etcd.io/raft/v3/raftpb's protobuf types;
// the frame around them (frame.go) is protobuf's wire format written by hand with protowire,
// so it evolves as a protobuf message does (new field numbers, unknown fields skipped); the
// service is a grpc.ServiceDesc registered by hand, and a codec of our own (codec.go) moves the
// frames, encoded once. That keeps generated code, and its toolchain, out of the build for one
// message of eight fields, and lets Send encode a message once for both the queue's byte bound
// and the wire.
//
// A snapshot's data comes from a SnapshotSource as a stream, goes in chunks with a SHA-256 over
// the whole, and reaches a SnapshotSink through a reader that yields io.EOF only once the length
// and the hash are checked; the MsgSnap is given to Process after the sink has kept the data,
// and the sender reports SnapshotFinish or SnapshotFailure.
//
// Package faulty holds an in-process network with the same Sender interface that drops, delays,
// reorders, duplicates and partitions messages, for cluster tests.
package transport
