package member

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/cluster"
	"github.com/taudb/tau/internal/cluster/raftlog"
	"github.com/taudb/tau/internal/cluster/transport"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/dirlock"
	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/replica"
	"github.com/taudb/tau/internal/storage/wal"
	"github.com/taudb/tau/internal/tlsconfig"
)

// ConfigError is a start refused for the operator to fix (the server exits 2).
type ConfigError struct{ error }

func (e *ConfigError) Unwrap() error { return e.error }

// SnapshotDir is where, under RaftDir, a member keeps its snapshot files.
const SnapshotDir = "snapshots"

// RaftDir is where a cluster member's Raft log lives in its data directory.
const RaftDir = "raft"

// group is the Raft group of every entry and message: one group today (docs/cluster.md).
const group = 0

// Member is this process as one member of a cluster. Build it with Open, give it the engine
// with Bind, then add it to the server's run.Group (AddHandOff, AddTo).
type Member struct {
	cfg     config.Config
	cl      config.Cluster
	log     *zap.Logger
	reg     prometheus.Registerer
	secret  []byte
	accept  [][]byte
	lock    *dirlock.Lock
	id      identity
	store   *raftlog.Storage
	fresh   bool // the Raft log held nothing at start
	ln      net.Listener
	tr      *transport.Transport
	node    *cluster.Node
	rep     *replica.Replica
	peers   *directory
	handler nodeHandler

	ready    atomic.Bool
	seeding  atomic.Bool   // writing a single node's data into the log (seed.go)
	stopping chan struct{} // closed when the node should stop serving (removed)
	refused  chan struct{} // closed when its settings differ from the cluster's
}

// Open locks the data directory, reads or writes its identity, opens the Raft log and binds
// the peer listener. Peers prove to each other that they hold the certificate (the first of
// the configured ones; the others are accepted too, for a rotation).
func Open(cfg config.Config, log *zap.Logger, reg prometheus.Registerer) (*Member, error) {
	cl, err := cfg.Cluster()
	if err != nil {
		return nil, &ConfigError{err}
	}
	certs, err := cfg.LoadCertificates()
	if err != nil {
		return nil, err
	}
	secret := certs[0][:]
	m := &Member{cfg: cfg, cl: cl, log: log.Named("member"), reg: reg, secret: secret, stopping: make(chan struct{}),
		refused: make(chan struct{})}
	for _, c := range certs[1:] {
		m.accept = append(m.accept, c[:])
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("TAU_DATA_DIR=%q: %w", cfg.DataDir, err)
	}
	if m.lock, err = dirlock.Acquire(cfg.DataDir); err != nil {
		return nil, err
	}
	if err := m.openLog(); err != nil {
		_ = m.lock.Release()
		return nil, err
	}
	if m.ln, err = net.Listen("tcp", cl.Listen); err != nil {
		_ = m.store.Close()
		_ = m.lock.Release()
		return nil, fmt.Errorf("TAU_PEER_ADDRESS=%q: %w", cl.Listen, err)
	}
	return m, nil
}

// openLog checks the directory's identity and opens its Raft log.
func (m *Member) openLog() error {
	dir := m.cfg.DataDir
	raftDir := filepath.Join(dir, RaftDir)
	if err := os.MkdirAll(raftDir, 0o755); err != nil {
		return err
	}
	id, ok, err := loadIdentity(raftDir)
	switch {
	case err != nil:
		return err
	case !ok:
		id = identity{ClusterID: ClusterID(m.cl.Founders), Node: m.cl.Node, NodeID: NodeID(m.cl.Node)}
	case id.Node != m.cl.Node:
		return &ConfigError{fmt.Errorf("TAU_NODE_NAME=%q, but TAU_DATA_DIR=%q belongs to member %q", m.cl.Node, dir, id.Node)}
	}
	m.id = id
	if err := m.checkSeed(); err != nil {
		return err // before the identity is written: a refused start leaves the directory as it was
	}
	if !ok {
		if err := saveIdentity(raftDir, id); err != nil {
			return err
		}
	}
	policy := wal.FsyncAlways
	if m.cfg.Fsync == config.FsyncInterval {
		policy = wal.FsyncInterval
	}
	m.store, err = raftlog.Open(raftDir, wal.Options{Fsync: policy, Interval: m.cfg.FsyncInterval,
		Logger: m.log, Registerer: m.reg}, group)
	if err != nil {
		return fmt.Errorf("opening the Raft log in %s: %w", raftDir, err)
	}
	last, _ := m.store.LastIndex()
	hs, _, _ := m.store.InitialState()
	m.fresh = last == 0 && raft.IsEmptyHardState(hs)
	if m.cfg.ForceNewCluster {
		if m.fresh {
			return &ConfigError{errors.New("TAU_FORCE_NEW_CLUSTER=true on a member with no Raft log: there is no data to form a cluster with")}
		}
		if err := forceNewCluster(m.store, m.id.NodeID, m.log); err != nil {
			return err
		}
	}
	return nil
}

// singleNodeData reports whether dir holds a single node's log or checkpoints.
func singleNodeData(dir string) bool {
	for _, sub := range singleNodeDirs {
		if entries, err := os.ReadDir(filepath.Join(dir, sub)); err == nil && len(entries) > 0 {
			return true
		}
	}
	return false
}

// Bind builds the replica of e, which must keep nothing itself (engine.MemoryStore, no data
// directory: the Raft log is the log), the node and the transport.
//
// With src (nil: plaintext) the peer port speaks TLS with the server's pair, renewed in place.
// With TAU_TLS_CLIENT_CA_FILE it is mutual TLS: each peer presents its pair and checks the
// other's against that CA. Without it, a peer cannot check the other's certificate (a
// cluster's CA is rarely the system's), so the streams are encrypted and the peers proven by
// the certificate's HMAC only (docs/cluster.md).
func (m *Member) Bind(e *engine.Engine, src *tlsconfig.Source) (*replica.Replica, error) {
	snaps, err := replica.NewSnapshots(filepath.Join(m.cfg.DataDir, RaftDir, SnapshotDir))
	if err != nil {
		return nil, err
	}
	rep, sm := replica.New(e, snaps)
	var peers *directory
	var serverTLS, clientTLS *tls.Config
	if src != nil {
		serverTLS, clientTLS = src.ServerConfig(), src.ClientConfig("")
		clientTLS.InsecureSkipVerify = !src.MutualTLS() //nolint:gosec // peers still prove the certificate's HMAC; see above
	}
	tr, err := transport.New(transport.Options{
		TLS: serverTLS, ClientTLS: clientTLS,
		ClusterID: m.id.ClusterID, NodeID: m.id.NodeID, Secret: m.secret, AcceptSecrets: m.accept, Group: group,
		Logger: m.log, Registerer: m.reg,
		Removed:   func(id uint64) bool { return peers.wasRemoved(id) },
		OnRemoved: m.refusedAsRemoved,
	}, &m.handler, snaps, snaps)
	if err != nil {
		return nil, err
	}
	peers = newDirectory(m.id.NodeID, tr, m.log)
	m.peers = peers
	m.tr, m.peers = tr, peers
	m.peers.onSelfRemoved = func() { closeOnce(m.stopping) }
	var founders []uint64
	info := map[uint64][]byte{}
	for _, f := range m.cl.Founders {
		id := NodeID(f.Name)
		founders = append(founders, id)
		info[id] = peerInfo(f.Name, f.Peer)
	}
	if !m.cl.Founder {
		founders = nil // a joiner waits for the leader to send it the log
	}
	n, err := cluster.NewNode(cluster.Config{
		ID: m.id.NodeID, Group: group, Peers: founders, PeerInfo: info, Members: m.peers,
		Storage: m.store, Transport: tr, StateMachine: sm, Logger: m.log,
		SnapshotEntries: m.cfg.ClusterSnapshotEntries, KeepEntries: keepEntries(m.cfg.ClusterSnapshotEntries),
	})
	if err != nil {
		_ = tr.Close()
		return nil, err
	}
	m.node, m.rep = n, rep
	m.handler.node.Store(n)
	rep.Attach(n)
	rep.CheckSettings(m.settings(), m.settingsDiffer)
	for _, f := range m.cl.Founders {
		tr.AddPeer(NodeID(f.Name), f.Peer) // the log, replayed, may move them
	}
	registerMetrics(m.reg, m)
	m.log.Info("cluster member", zap.String("node", m.id.Node), zap.Uint64("node_id", m.id.NodeID),
		zap.Uint64("cluster_id", m.id.ClusterID), zap.Bool("founder", m.cl.Founder), zap.Bool("fresh", m.fresh),
		zap.String("peer_address", m.ln.Addr().String()), zap.Bool("peer_tls", src != nil), zap.Bool("peer_mutual_tls", src != nil && src.MutualTLS()))
	return rep, nil
}

// PeerAddr is the peer listener's address (useful with port 0).
func (m *Member) PeerAddr() string { return m.ln.Addr().String() }

// Ready is the node's part of /readyz: it knows a leader and has applied what was committed
// when it last asked (a ReadIndex round), and it is still a member.
func (m *Member) Ready() bool {
	return m.ready.Load() && m.node.Status().Leader != 0 && !m.peers.isRemoved()
}

// Removed is closed once this node has been removed from the cluster.
func (m *Member) Removed() <-chan struct{} { return m.stopping }

// AddHandOff adds the actor whose interrupt hands leadership to another voter before the
// server drains (SIGTERM on the leader): the group's first interrupt after the signal.
func (m *Member) AddHandOff(g *run.Group) {
	stop := make(chan struct{})
	g.Add(func() error {
		select {
		case <-stop:
			return nil
		case <-m.stopping:
			m.log.Info("stopping: this node was removed from the cluster")
			return nil
		case <-m.refused:
			return &ConfigError{errors.New("this member's settings that decide outcomes differ from the cluster's (logged above): it does not serve")}
		}
	}, func(error) {
		closeOnce(stop)
		m.ready.Store(false)
		m.handOff()
	})
}

// AddTo adds the node's loop, the peer transport and the readiness prober. Their interrupts
// stop the node, then the transport, then close the log and unlock the directory: after the
// TAU front end has drained and before the engine stops (an apply needs the engine's
// workers).
func (m *Member) AddTo(g *run.Group, engineRecovered <-chan struct{}) {
	nodeDone := make(chan struct{})
	g.Add(func() error {
		defer close(nodeDone)
		<-engineRecovered
		return m.node.Run()
	}, func(error) {
		m.node.Stop()
		<-nodeDone
		_ = m.tr.Close()
		if err := m.store.Close(); err != nil {
			m.log.Error("closing the Raft log", zap.Error(err))
		}
		_ = m.lock.Release()
	})
	g.Add(func() error { return m.tr.Serve(m.ln) }, func(error) { _ = m.tr.Close() })
	if m.seeding.Load() {
		sctx, scancel := context.WithCancel(context.Background())
		g.Add(func() error {
			if err := m.seed(sctx); err != nil {
				return fmt.Errorf("seeding the cluster from the single node's data: %w", err)
			}
			<-sctx.Done()
			return nil
		}, func(error) { scancel() })
	}
	ctx, cancel := context.WithCancel(context.Background())
	proberDone := make(chan struct{})
	g.Add(func() error {
		defer close(proberDone)
		go m.promote(ctx)
		m.probe(ctx)
		return nil
	}, func(error) { cancel(); <-proberDone })
}

// probeEvery is how often readiness is checked with a ReadIndex round.
const probeEvery = time.Second

// probe keeps Ready current: a ReadIndex round that completes proves a leader that a
// majority follows and that this node has applied what was committed.
func (m *Member) probe(ctx context.Context) {
	var lead uint64
	t := time.NewTicker(probeEvery / 4)
	defer t.Stop()
	last := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := m.node.Status()
		if m.peers.outOfCluster() && st.Applied >= st.Commit {
			m.peers.selfRemoved("its removal was applied here")
		}
		if st.Leader != lead {
			lead = st.Leader
			last = time.Time{} // ask again at once
		}
		if time.Since(last) < probeEvery {
			continue
		}
		last = time.Now()
		rctx, cancel := context.WithTimeout(ctx, probeEvery)
		err := m.node.Read(rctx)
		if _, known := m.rep.ClusterSettings(); err == nil && !known && m.node.IsLeader() {
			err = m.rep.ProposeSettings(rctx) // the first leader's settings are the cluster's
		}
		cancel()
		_, known := m.rep.ClusterSettings()
		m.ready.Store(err == nil && known)
	}
}

// handOff transfers leadership to another voter, when this node leads, and waits (briefly)
// for it to take over, so that the cluster keeps answering while this node drains.
func (m *Member) handOff() {
	if !m.node.IsLeader() {
		return
	}
	st := m.node.Status()
	var to uint64
	for _, v := range st.Voters {
		if v != st.ID {
			to = v
			break
		}
	}
	if to == 0 {
		return
	}
	m.log.Info("handing leadership over before stopping", zap.Uint64("to", to))
	m.node.TransferLeadership(to)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && m.node.IsLeader() {
		time.Sleep(10 * time.Millisecond)
	}
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// nodeHandler hands what the transport brings in to the node loop, once there is one.
type nodeHandler struct{ node atomic.Pointer[cluster.Node] }

func (h *nodeHandler) Process(_ context.Context, m *raftpb.Message) error {
	if n := h.node.Load(); n != nil {
		n.Step(m)
	}
	return nil
}

func (h *nodeHandler) ReportUnreachable(id uint64) {
	if n := h.node.Load(); n != nil {
		n.ReportUnreachable(id)
	}
}

func (h *nodeHandler) ReportSnapshot(id uint64, s raft.SnapshotStatus) {
	if n := h.node.Load(); n != nil {
		n.ReportSnapshot(id, s)
	}
}

// keepEntries is how many entries a compaction keeps behind a snapshot, for members a little
// behind: a quarter of the entries between snapshots, at most 10,000.
func keepEntries(every uint64) uint64 { return min(every/4, 10000) }

// settings are this member's settings that decide outcomes.
func (m *Member) settings() replica.Settings {
	return replica.Settings{CatalogCapacity: m.cfg.CatalogCapacity, LensCapacity: m.cfg.LensCapacity, Retention: m.cfg.Retention}
}

// settingsDiffer refuses to serve with settings that would make this member decide outcomes
// unlike the others (CONFIG.md), saying which. On the node's loop: it only logs and signals.
func (m *Member) settingsDiffer(mine, cluster replica.Settings) {
	select {
	case <-m.refused:
		return
	default:
	}
	var diff []zap.Field
	if mine.CatalogCapacity != cluster.CatalogCapacity {
		diff = append(diff, zap.String("TAU_CATALOG_CAPACITY", fmt.Sprintf("%d here, %d in the cluster", mine.CatalogCapacity, cluster.CatalogCapacity)))
	}
	if mine.LensCapacity != cluster.LensCapacity {
		diff = append(diff, zap.String("TAU_LENS_CAPACITY", fmt.Sprintf("%d here, %d in the cluster", mine.LensCapacity, cluster.LensCapacity)))
	}
	if mine.Retention != cluster.Retention {
		diff = append(diff, zap.String("TAU_RETENTION", fmt.Sprintf("%v here, %v in the cluster", mine.Retention, cluster.Retention)))
	}
	m.log.Error("this member's settings differ from the cluster's, so it could decide outcomes unlike the others: it stops; give it the cluster's", diff...)
	m.ready.Store(false)
	close(m.refused)
}

// refusedAsRemoved is a peer refusing this node's streams because the cluster removed it. A
// node that started on an empty directory and has applied nothing but its own founding
// entries is one being added again (a replaced member, started before its tau cluster add): it
// waits to be added. Any other stops serving.
func (m *Member) refusedAsRemoved() {
	founding := uint64(0)
	if m.cl.Founder {
		founding = uint64(len(m.cl.Founders))
	}
	if m.fresh && m.node.Status().Applied <= founding {
		m.log.Info("a member refuses this node, removed from the cluster before: it waits to be added again (tau cluster add)")
		return
	}
	m.peers.selfRemoved("a member refused it as removed")
}
