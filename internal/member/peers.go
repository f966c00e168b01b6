package member

import (
	"sort"
	"strings"
	"sync"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
)

// peerInfo is what a membership change carries: the member's name and peer address, as
// "name=host:port".
func peerInfo(name, addr string) []byte { return []byte(name + "=" + addr) }

func parsePeerInfo(b []byte) (name, addr string, ok bool) {
	return strings.Cut(string(b), "=")
}

// Peer is one member as this node knows it.
type Peer struct {
	ID      uint64 `json:"id,string"`
	Name    string `json:"name"`
	Address string `json:"peer_address"`
}

// directory keeps the members' names and addresses as membership changes are applied (on
// the node's loop), and tells the transport where its peers are.
type directory struct {
	self uint64
	tr   peerSender
	log  *zap.Logger

	mu            sync.Mutex
	peers         map[uint64]Peer
	gone          map[uint64]bool // removed members, whose streams are refused
	removed       bool            // this node was removed from the cluster
	joined        bool            // this node's addition was applied here
	outInLog      bool            // this node's removal was applied here, and no addition since
	onSelfRemoved func()
}

// peerSender is the part of the transport the directory drives.
type peerSender interface {
	AddPeer(id uint64, addr string)
	RemovePeer(id uint64)
}

func newDirectory(self uint64, tr peerSender, log *zap.Logger) *directory {
	return &directory{self: self, tr: tr, log: log, peers: map[uint64]Peer{}, gone: map[uint64]bool{}}
}

// Changed implements cluster.MembershipObserver.
func (d *directory) Changed(t raftpb.ConfChangeType, id uint64, info []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch t {
	case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
		delete(d.gone, id)
		if id == d.self {
			d.joined, d.outInLog = true, false // added (again): a removal before it is past
		}
		p := d.peers[id]
		p.ID = id
		if name, addr, ok := parsePeerInfo(info); ok {
			p.Name, p.Address = name, addr
		}
		d.peers[id] = p
		if p.Address != "" {
			d.tr.AddPeer(id, p.Address)
		}
	case raftpb.ConfChangeRemoveNode:
		delete(d.peers, id)
		d.gone[id] = true
		d.tr.RemovePeer(id)
		if id == d.self {
			// Not at once: an entry after it, not yet applied, may add this node again (a
			// member replaced under its own name). The member stops once it has applied all
			// it knows committed and is still out (outOfCluster).
			d.outInLog = true
		}
	}
}

// outOfCluster reports whether this node's removal is the last word of its log so far.
func (d *directory) outOfCluster() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.outInLog
}

// selfRemoved is this node learning it was removed: from its own log, or from a peer that
// refuses it (the leader stops sending to a removed follower, which may never see the entry
// that removed it committed).
func (d *directory) selfRemoved(how string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.selfRemovedLocked(how)
}

func (d *directory) selfRemovedLocked(how string) {
	if d.removed {
		return
	}
	d.removed = true
	d.log.Warn("this node was removed from the cluster: it stops serving", zap.String("how", how))
	if d.onSelfRemoved != nil {
		go d.onSelfRemoved()
	}
}

// wasRemoved reports whether member id was removed (and not added again).
func (d *directory) wasRemoved(id uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gone[id]
}

// byID is the member's entry, if known.
func (d *directory) byID(id uint64) (Peer, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.peers[id]
	return p, ok
}

// list is every known member, by name.
func (d *directory) list() []Peer {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Peer, 0, len(d.peers))
	for _, p := range d.peers {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (d *directory) isRemoved() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.removed
}
