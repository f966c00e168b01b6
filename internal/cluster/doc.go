// Package cluster replicates a state machine through Raft (go.etcd.io/raft/v3, driven as a
// RawNode by a loop this package owns), for Tau's cluster mode (PROTOCOL.md C1–C8).
//
// A Node is one replica. Its loop is the only goroutine that touches the RawNode: it ticks,
// steps received messages, proposes, and handles each Ready in the order Raft requires: the
// entries and the hard state are saved in one durable write (Storage.Save: one group commit of
// the log), then messages are sent, then committed entries are applied to the StateMachine in
// log order, the same on every replica (C4), and the proposer's waiter gets the outcome the
// state machine decided (C1: a follower's proposal is forwarded by Raft to the leader, and the
// follower answers once the entry is applied on itself).
//
// Reads are linearizable through ReadIndex (C2): Read joins a batch, the loop runs one
// ReadIndex round at a time with ReadOnlySafe (a heartbeat round to a majority, never a lease),
// and the batch is released once this node has applied up to the index the round returned. A
// leader that was paused or cut off cannot complete a round, so it never answers a stale read.
// CheckQuorum and PreVote keep a partitioned node from disrupting the others.
//
// No quorum, no lie (C5): a proposal Raft drops (no leader known) is ErrBusy, nothing done; a
// proposal that was handed to Raft but not applied before the caller's deadline is ErrUnknown,
// since it may still commit.
package cluster
