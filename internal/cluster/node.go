package cluster

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// Sender carries a node's messages to its peers. Send must not block: a message it cannot
// deliver is dropped, and Raft sends it again.
type Sender interface {
	Send(msgs []*raftpb.Message)
}

// StateMachine is what the cluster replicates. Apply is called with every committed command
// in log order, the same on every replica; its result is the outcome the proposer's caller
// gets, so it must depend only on the commands before it.
type StateMachine interface {
	Apply(index uint64, cmd []byte) any
	// Snapshot is the whole state as of the last applied command, index; Restore replaces
	// the state with a snapshot's.
	Snapshot(index uint64) ([]byte, error)
	Restore(data []byte) error
}

// MembershipObserver learns every membership change as it is applied, in log order, on the
// loop (a front end keeps its peers' addresses so): info is what the change was proposed with.
type MembershipObserver interface {
	Changed(t raftpb.ConfChangeType, id uint64, info []byte)
}

// Config configures a Node.
type Config struct {
	ID    uint64
	Group uint64 // the Raft group; 0 today
	// Peers are the founding voters when the storage is new (this node among them); with
	// state in the storage they are ignored, and a new node joining a running cluster has
	// none.
	Peers []uint64
	// PeerInfo is what each founding voter's configuration entry carries to Members (its
	// name and address); nil for none.
	PeerInfo     map[uint64][]byte
	Members      MembershipObserver
	Storage      Storage
	Transport    Sender
	StateMachine StateMachine
	// Tick is Raft's clock; an election takes ElectionTicks of them without a heartbeat
	// (defaults: 100 ms, 10 ticks, a heartbeat every tick).
	Tick           time.Duration
	ElectionTicks  int
	HeartbeatTicks int
	// SnapshotEntries is how many entries are applied between snapshots, after each of which
	// the log is compacted but for the last KeepEntries (for followers a little behind); 0
	// takes none by itself.
	SnapshotEntries uint64
	KeepEntries     uint64
	Logger          *zap.Logger
}

// Defaults of Config's zero fields.
const (
	DefaultTick           = 100 * time.Millisecond
	DefaultElectionTicks  = 10
	DefaultHeartbeatTicks = 1
	maxSizePerMsg         = 1 << 20
	maxInflightMsgs       = 256
	inboxSize             = 4096
)

// Errors a caller maps to its wire (C5).
var (
	// ErrBusy: nothing was done (no leader known, or the node is stopping); the caller may
	// retry.
	ErrBusy = errors.New("cluster: no leader; nothing was done")
	// ErrUnknown: the proposal reached Raft but was not applied here before the deadline; it
	// may still commit, so the caller must read to find out.
	ErrUnknown = errors.New("cluster: outcome unknown")
	// ErrStopped: the node has stopped.
	ErrStopped = errors.New("cluster: node stopped")
)

// Node is one replica. Build it with NewNode, run Run (a run.Group actor) and stop it with
// Stop.
type Node struct {
	cfg Config
	rn  *raft.RawNode
	log *zap.Logger

	inbox chan *raftpb.Message // received messages, for the loop
	ops   chan func()          // work for the loop: proposals, reads, reports
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	nextRequest atomic.Uint64
	subMu       sync.Mutex  // guards submitted: Submit's requests, for the loop to propose
	submitted   []batchItem // in the order they were submitted
	subBytes    int
	waitMu      sync.Mutex
	waiting     map[uint64]waiter // proposals of this node, by request id
	applied1    dedup             // the requests applied, so a duplicate entry is applied once
	infos       map[uint64][]byte // each member's info (name and address), kept in snapshots; the loop's

	reads readBatcher

	applied   atomic.Uint64
	appliedMu sync.Mutex
	appliedCh chan struct{} // closed and replaced whenever applied moves

	lead      atomic.Uint64
	term      atomic.Uint64
	commit    atomic.Uint64
	confState atomic.Pointer[raftpb.ConfState]
	dropped   atomic.Uint64 // received messages dropped on a full inbox

	snapshotAt    uint64           // the applied index of the last snapshot; the loop's
	startFrom     *raftpb.Snapshot // the snapshot Run restores before anything else
	snapshotDue   bool             // take a snapshot at the next chance (a member was added)
	savedTerm     uint64           // the term and vote last saved; the loop's
	savedVote     uint64
	pending       []*raftpb.Entry // committed, waiting for a dump to end; the loop's
	dumping       chan struct{}   // closed when the dump in progress ends; nil: none
	leaderChanges atomic.Uint64   // a new leader seen
	failedBusy    atomic.Uint64   // proposals answered ErrBusy
	failedUnknown atomic.Uint64   // proposals answered ErrUnknown
}

type result struct {
	v   any
	err error
}

// NewNode builds a node on its storage. A storage with no state bootstraps the cluster of
// cfg.Peers; one with state restarts from it, applied index and all.
func NewNode(cfg Config) (*Node, error) {
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.ElectionTicks <= 0 {
		cfg.ElectionTicks = DefaultElectionTicks
	}
	if cfg.HeartbeatTicks <= 0 {
		cfg.HeartbeatTicks = DefaultHeartbeatTicks
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	log := cfg.Logger.Named("cluster")
	n := &Node{
		cfg: cfg, log: log,
		inbox:     make(chan *raftpb.Message, inboxSize),
		ops:       make(chan func(), 1024),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		waiting:   map[uint64]waiter{},
		applied1:  newDedup(),
		infos:     map[uint64][]byte{},
		appliedCh: make(chan struct{}),
	}
	snap, err := cfg.Storage.Snapshot()
	if err != nil {
		return nil, err
	}
	if hs, _, err := cfg.Storage.InitialState(); err == nil {
		n.savedTerm, n.savedVote = hs.GetTerm(), hs.GetVote()
	}
	if !raft.IsEmptySnap(snap) {
		n.startFrom = snap // restored by Run: the state machine may not take writes yet
		n.applied.Store(snap.GetMetadata().GetIndex())
		n.snapshotAt = snap.GetMetadata().GetIndex()
		n.confState.Store(snap.GetMetadata().GetConfState())
	}
	rc := &raft.Config{
		ID: cfg.ID, ElectionTick: cfg.ElectionTicks, HeartbeatTick: cfg.HeartbeatTicks,
		Storage: cfg.Storage, Applied: n.applied.Load(),
		MaxSizePerMsg: maxSizePerMsg, MaxInflightMsgs: maxInflightMsgs,
		CheckQuorum: true, PreVote: true, ReadOnlyOption: raft.ReadOnlySafe,
		Logger: raftLogger{log}, StepDownOnRemoval: true,
	}
	// Request ids start at random: entries of this node's earlier lives, replayed now, must
	// never be taken for the proposals of this one (their waiters would be answered by an
	// old entry's outcome before their own commits, if it ever does).
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	n.nextRequest.Store(binary.BigEndian.Uint64(seed[:]) >> 1)
	if n.rn, err = raft.NewRawNode(rc); err != nil {
		return nil, err
	}
	if err := n.bootstrapIfNew(); err != nil {
		return nil, err
	}
	return n, nil
}

// bootstrapIfNew starts the founding configuration on a storage that holds nothing. A node
// joining a running cluster has no peers: it waits for the leader to send it the log or a
// snapshot.
func (n *Node) bootstrapIfNew() error {
	if len(n.cfg.Peers) == 0 {
		return nil
	}
	last, err := n.cfg.Storage.LastIndex()
	if err != nil {
		return err
	}
	hs, _, err := n.cfg.Storage.InitialState()
	if err != nil || last > 0 || !raft.IsEmptyHardState(hs) {
		return err
	}
	peers := make([]raft.Peer, len(n.cfg.Peers))
	for i, id := range n.cfg.Peers {
		peers[i] = raft.Peer{ID: id}
		if info := n.cfg.PeerInfo[id]; info != nil {
			peers[i].Context = envelope{group: n.cfg.Group, cmd: info}.encode()
		}
	}
	return n.rn.Bootstrap(peers)
}

// ID is the node's Raft id.
func (n *Node) ID() uint64 { return n.cfg.ID }

// Run is the loop; it returns once Stop is called.
func (n *Node) Run() error {
	defer close(n.done)
	if snap := n.startFrom; snap != nil {
		n.startFrom = nil
		if err := n.restoreData(snap); err != nil {
			err = fmt.Errorf("cluster: restore snapshot at %d: %w", snap.GetMetadata().GetIndex(), err)
			n.log.Error("cluster node stops", zap.Error(err))
			n.failAll()
			return err
		}
	}
	t := time.NewTicker(n.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			n.rn.Tick()
			n.reads.tick(n)
		case m := <-n.inbox:
			_ = n.rn.Step(m) // a message for another term or a stale one is Raft's to ignore
			n.drainInbox()
		case op := <-n.ops:
			op()
			n.drainOps()
		case <-n.stop:
			n.awaitDump()
			n.failAll()
			return nil
		}
		for n.rn.HasReady() {
			if err := n.handleReady(); err != nil {
				n.log.Error("cluster node stops: its storage failed", zap.Error(err))
				n.failAll()
				return err
			}
		}
	}
}

// maxOpsPerReady bounds the work the loop takes before it handles a Ready: the proposals
// that came together are saved in one write and one fsync (a group commit, C3).
const maxOpsPerReady = 1024

// drainOps runs the work already queued, up to maxOpsPerReady, so that it shares a Ready.
func (n *Node) drainOps() {
	for range maxOpsPerReady {
		select {
		case op := <-n.ops:
			op()
		default:
			return
		}
	}
}

// drainInbox steps the messages already received, up to maxOpsPerReady, so that their
// effects (acknowledgements from several followers) share a Ready.
func (n *Node) drainInbox() {
	for range maxOpsPerReady {
		select {
		case m := <-n.inbox:
			_ = n.rn.Step(m)
		default:
			return
		}
	}
}

// Stop ends Run; waiting callers get ErrStopped.
func (n *Node) Stop() {
	n.once.Do(func() { close(n.stop) })
	<-n.done
}

// Step hands a message received from a peer to the loop, without blocking: on a full inbox
// it is dropped, as the network might have, and Raft recovers.
func (n *Node) Step(m *raftpb.Message) {
	select {
	case n.inbox <- m:
	default:
		n.dropped.Add(1)
	}
}

// ReportUnreachable and ReportSnapshot tell Raft what the transport learned of a peer.
func (n *Node) ReportUnreachable(id uint64) { n.do(func() { n.rn.ReportUnreachable(id) }) }

// ReportSnapshot tells Raft whether a snapshot reached peer id.
func (n *Node) ReportSnapshot(id uint64, status raft.SnapshotStatus) {
	n.do(func() { n.rn.ReportSnapshot(id, status) })
}

// do runs op on the loop, unless the node stops first.
func (n *Node) do(op func()) bool {
	select {
	case n.ops <- op:
		return true
	case <-n.stop:
		return false
	case <-n.done:
		return false
	}
}

// handleReady saves, sends, applies and advances, in the order Raft requires.
func (n *Node) handleReady() error {
	rd := n.rn.Ready()
	if rd.SoftState != nil {
		if old := n.lead.Swap(rd.Lead); old != rd.Lead && rd.Lead != 0 {
			n.leaderChanges.Add(1)
			defer n.reproposeWaiting() // after Advance: a proposal is not taken mid-Ready
		}
	}
	if rd.HardState != nil && !raft.IsEmptyHardState(rd.HardState) {
		n.term.Store(rd.GetTerm())
		n.commit.Store(rd.GetCommit())
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := n.cfg.Storage.ApplySnapshot(rd.Snapshot); err != nil {
			return err
		}
	}
	// A leader sends before its own fsync, so that its followers write to their disks while it
	// writes to its own (Raft thesis §10.2.1; raft's Ready allows messages while the same
	// batch's entries are persisted). An entry still commits only once a majority has it
	// durably: the followers' acknowledgements reach this loop only after this Save. Only when
	// the term and vote are the ones already saved: a message must never reveal a vote or
	// term the disk might not have.
	early := n.rn.Status().RaftState == raft.StateLeader &&
		(rd.HardState == nil || (rd.GetTerm() == n.savedTerm && rd.GetVote() == n.savedVote))
	if early {
		n.cfg.Transport.Send(rd.Messages)
	}
	if err := n.cfg.Storage.Save(rd.HardState, rd.Entries); err != nil {
		return err
	}
	if rd.HardState != nil && !raft.IsEmptyHardState(rd.HardState) {
		n.savedTerm, n.savedVote = rd.GetTerm(), rd.GetVote()
	}
	if !early {
		n.cfg.Transport.Send(rd.Messages)
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		n.awaitDump() // the state it dumps is about to be replaced
		if err := n.restore(rd.Snapshot); err != nil {
			return err
		}
		n.dropPendingUpTo(rd.Snapshot.GetMetadata().GetIndex())
	}
	n.pending = append(n.pending, rd.CommittedEntries...)
	n.applyPending()
	n.reads.ready(n, rd.ReadStates)
	n.rn.Advance(rd)
	return nil
}

// restore replaces the state machine's state with a snapshot from the leader.
func (n *Node) restore(snap *raftpb.Snapshot) error {
	if err := n.restoreData(snap); err != nil {
		return fmt.Errorf("cluster: restore snapshot at %d: %w", snap.GetMetadata().GetIndex(), err)
	}
	n.confState.Store(snap.GetMetadata().GetConfState())
	n.setApplied(snap.GetMetadata().GetIndex())
	n.snapshotAt = snap.GetMetadata().GetIndex()
	return nil
}

// apply applies one committed entry and hands the outcome to its proposer, if it waits here.
func (n *Node) apply(e *raftpb.Entry) {
	switch e.GetType() {
	case raftpb.EntryNormal:
		if len(e.GetData()) > 0 {
			n.applyCommand(e)
		}
	case raftpb.EntryConfChange, raftpb.EntryConfChangeV2:
		n.applyConfChange(e)
	}
	n.setApplied(e.GetIndex())
}

func (n *Node) applyCommand(e *raftpb.Entry) {
	envs, err := decodeEntry(e.GetData())
	if err != nil || (len(envs) > 0 && envs[0].group != n.cfg.Group) {
		n.log.Error("skipping an entry this node cannot read", zap.Uint64("index", e.GetIndex()), zap.Error(err))
		return
	}
	for _, env := range envs {
		if !n.applied1.first(env.node, env.request) {
			continue // a proposal made again after a leader change, whose first copy was not lost
		}
		v := n.cfg.StateMachine.Apply(e.GetIndex(), env.cmd)
		if env.node == n.cfg.ID {
			n.answer(env.request, result{v: v})
		}
	}
}

func (n *Node) applyConfChange(e *raftpb.Entry) {
	var cc raftpb.ConfChangeI
	if e.GetType() == raftpb.EntryConfChange {
		var v1 raftpb.ConfChange
		if err := proto.Unmarshal(e.GetData(), &v1); err != nil {
			n.log.Error("bad configuration change entry", zap.Uint64("index", e.GetIndex()), zap.Error(err))
			return
		}
		cc = &v1
	} else {
		var v2 raftpb.ConfChangeV2
		if err := proto.Unmarshal(e.GetData(), &v2); err != nil {
			n.log.Error("bad configuration change entry", zap.Uint64("index", e.GetIndex()), zap.Error(err))
			return
		}
		cc = &v2
	}
	n.confState.Store(n.rn.ApplyConfChange(cc))
	for _, c := range cc.AsV2().GetChanges() {
		if c.GetType() == raftpb.ConfChangeAddLearnerNode || c.GetType() == raftpb.ConfChangeAddNode {
			// A snapshot sent to the new member must name it: one taken before it was added
			// would be refused by its Raft ("not in the ConfState"). Take a new one.
			n.snapshotDue = true
		}
	}
	env, err := decodeEnvelope(cc.AsV2().GetContext())
	for _, c := range cc.AsV2().GetChanges() {
		if c.GetType() == raftpb.ConfChangeRemoveNode {
			delete(n.infos, c.GetNodeId())
		} else if env.cmd != nil {
			n.infos[c.GetNodeId()] = env.cmd
		}
		if n.cfg.Members != nil {
			n.cfg.Members.Changed(c.GetType(), c.GetNodeId(), env.cmd)
		}
	}
	if err == nil && env.node == n.cfg.ID {
		n.answer(env.request, result{})
	}
}

func (n *Node) setApplied(i uint64) {
	n.appliedMu.Lock()
	if i > n.applied.Load() {
		n.applied.Store(i)
		close(n.appliedCh)
		n.appliedCh = make(chan struct{})
	}
	n.appliedMu.Unlock()
}

// appliedAtLeast is closed (or already true) once the applied index reaches i.
func (n *Node) appliedAtLeast(i uint64) (bool, <-chan struct{}) {
	n.appliedMu.Lock()
	defer n.appliedMu.Unlock()
	return n.applied.Load() >= i, n.appliedCh
}

// Status is what the node knows of the cluster now.
type Status struct {
	ID, Leader, Term, Commit, Applied uint64
	Voters, Learners                  []uint64
	// LeaderChanges counts the leaders this node has seen take over; ProposalsBusy and
	// ProposalsUnknown its proposals answered ErrBusy and ErrUnknown.
	LeaderChanges, ProposalsBusy, ProposalsUnknown uint64
}

// Status reads the node's view without waiting for the loop.
func (n *Node) Status() Status {
	s := Status{ID: n.cfg.ID, Leader: n.lead.Load(), Term: n.term.Load(), Commit: n.commit.Load(), Applied: n.applied.Load(),
		LeaderChanges: n.leaderChanges.Load(), ProposalsBusy: n.failedBusy.Load(), ProposalsUnknown: n.failedUnknown.Load()}
	if cs := n.confState.Load(); cs != nil {
		s.Voters, s.Learners = cs.GetVoters(), cs.GetLearners()
	}
	return s
}

// IsLeader reports whether this node leads.
func (n *Node) IsLeader() bool { return n.lead.Load() == n.cfg.ID }

// compact takes a snapshot of the state machine at the applied index and compacts the log
// behind it, but for the last KeepEntries (C7: a lagging node then catches up from the
// snapshot). The snapshot's data is this node's dedup state, then the state machine's. On the
// loop.
func (n *Node) compact() error {
	n.awaitDump()
	applied := n.applied.Load()
	data, err := n.cfg.StateMachine.Snapshot(applied)
	if err != nil {
		return err
	}
	n.snapshotAt = applied
	return n.record(applied, data)
}

// applyPending applies the committed entries in order, unless a snapshot is being dumped:
// they wait, so that the dump is the state at its index, while the loop goes on saving,
// sending and ticking (a dump of a large state must not stall heartbeats). On the loop.
func (n *Node) applyPending() {
	if n.dumping != nil {
		return
	}
	for _, e := range n.pending {
		n.apply(e)
	}
	clear(n.pending)
	n.pending = n.pending[:0]
	n.maybeSnapshot()
}

// dropPendingUpTo forgets the entries a received snapshot covers. On the loop.
func (n *Node) dropPendingUpTo(i uint64) {
	kept := n.pending[:0]
	for _, e := range n.pending {
		if e.GetIndex() > i {
			kept = append(kept, e)
		}
	}
	n.pending = kept
}

// maybeSnapshot starts a snapshot once SnapshotEntries have been applied since the last: the
// state machine dumps its state on another goroutine, and the loop records the snapshot and
// compacts the log when it is done (finishSnapshot). On the loop.
func (n *Node) maybeSnapshot() {
	if n.cfg.SnapshotEntries == 0 || (!n.snapshotDue && n.applied.Load() < n.snapshotAt+n.cfg.SnapshotEntries) {
		return
	}
	n.snapshotDue = false
	index, done := n.applied.Load(), make(chan struct{})
	n.dumping = done
	start := time.Now()
	go func() {
		data, err := n.cfg.StateMachine.Snapshot(index)
		close(done)
		n.do(func() { n.finishSnapshot(index, data, err, time.Since(start)) })
	}()
}

// finishSnapshot records a dumped snapshot, compacts the log and applies what waited. On the
// loop.
func (n *Node) finishSnapshot(index uint64, data []byte, err error, took time.Duration) {
	n.dumping = nil
	n.snapshotAt = max(n.snapshotAt, index) // a failed one is tried again SnapshotEntries later
	if err == nil && index >= n.applied.Load() {
		err = n.record(index, data)
	}
	if err != nil {
		n.log.Error("a snapshot failed; the log is kept until one succeeds", zap.Uint64("index", index), zap.Error(err))
	} else {
		n.log.Info("snapshot taken, log compacted", zap.Uint64("index", index), zap.Duration("took", took))
	}
	n.applyPending()
}

// record saves the snapshot at index and compacts the log behind it, but for KeepEntries.
func (n *Node) record(index uint64, data []byte) error {
	if _, err := n.cfg.Storage.CreateSnapshot(index, n.confState.Load(), wrapInfos(n.infos, n.applied1.wrap(data))); err != nil {
		return err
	}
	if index <= n.cfg.KeepEntries {
		return nil
	}
	return n.cfg.Storage.Compact(index - n.cfg.KeepEntries)
}

// awaitDump waits for a dump in progress to end. On the loop.
func (n *Node) awaitDump() {
	if n.dumping != nil {
		<-n.dumping
	}
}

// restoreData restores a snapshot's data: the members' infos (told to Config.Members, as the
// entries that carried them were), the dedup state, then the state machine's.
func (n *Node) restoreData(snap *raftpb.Snapshot) error {
	infos, data, err := unwrapInfos(snap.GetData())
	if err != nil {
		return err
	}
	n.infos = infos
	if n.cfg.Members != nil {
		cs := snap.GetMetadata().GetConfState()
		for _, id := range cs.GetVoters() {
			n.cfg.Members.Changed(raftpb.ConfChangeAddNode, id, infos[id])
		}
		for _, id := range cs.GetLearners() {
			n.cfg.Members.Changed(raftpb.ConfChangeAddLearnerNode, id, infos[id])
		}
	}
	rest, err := n.applied1.unwrap(data)
	if err != nil {
		return err
	}
	return n.cfg.StateMachine.Restore(rest)
}

// CaughtUpLearners is, on the leader, the learners whose log matches its commit index, ready
// to be promoted to voters (C8); none elsewhere. It asks the loop.
func (n *Node) CaughtUpLearners() []uint64 {
	ch := make(chan []uint64, 1)
	if !n.do(func() {
		st := n.rn.Status()
		var out []uint64
		if st.RaftState == raft.StateLeader {
			for id := range st.Config.Learners {
				if pr, ok := st.Progress[id]; ok && pr.Match >= st.GetCommit() {
					out = append(out, id)
				}
			}
		}
		ch <- out
	}) {
		return nil
	}
	select {
	case out := <-ch:
		return out
	case <-n.done:
		return nil
	}
}
