// Package member is this process as one member of a Tau cluster (cluster mode, PROTOCOL.md
// C1–C8, CONFIG.md "Cluster mode"). It wires the parts the cluster is made of into one
// lifecycle: the data directory's lock and identity, the Raft log in the data directory
// (cluster/raftlog), the Raft node (cluster), the peer transport on TAU_PEER_ADDRESS
// (cluster/transport), the engine replicated through it (replica), the members' addresses,
// readiness, the tau_cluster_* metrics and the membership API of `tau cluster`.
//
// The TAU front end (internal/server) sees it through the replica: writes are submitted to
// the log, reads wait for ReadIndex and then read the local engine.
package member
