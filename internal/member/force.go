package member

import (
	"fmt"
	"math"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/taudb/tau/internal/cluster/raftlog"
)

// forceNewCluster makes this member the only one of its cluster, with its data, as etcd's
// --force-new-cluster does, for when a majority is lost for good (TAU_FORCE_NEW_CLUSTER): every
// entry of its log counts as committed (an entry it holds may have been acknowledged by the lost
// majority; one that was not has an unknown outcome, or is decided at apply as any entry is),
// then the removal of every other member follows, committed at once. Started on that log, the
// member applies the removals, elects itself and serves; others then join with tau cluster
// add. It runs before the node is built, and only once: a log whose members are this one alone
// is left as it is.
func forceNewCluster(s *raftlog.Storage, self uint64, log *zap.Logger) error {
	hs, cs, err := s.InitialState()
	if err != nil {
		return err
	}
	last, err := s.LastIndex()
	if err != nil {
		return err
	}
	members, err := membersAt(s, cs, last)
	if err != nil {
		return err
	}
	var others []uint64
	for id := range members {
		if id != self {
			others = append(others, id)
		}
	}
	if len(others) == 0 {
		log.Info("TAU_FORCE_NEW_CLUSTER: this member is already alone in its cluster; nothing to do (unset the variable)")
		return nil
	}
	lastTerm, err := s.Term(last)
	if err != nil {
		return err
	}
	term, index := max(hs.GetTerm(), lastTerm), last
	ents := make([]*raftpb.Entry, 0, len(others))
	for _, id := range others {
		index++
		cc, err := proto.Marshal(&raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode.Enum(), NodeId: proto.Uint64(id)})
		if err != nil {
			return err
		}
		ents = append(ents, &raftpb.Entry{Term: proto.Uint64(term), Index: proto.Uint64(index),
			Type: raftpb.EntryConfChange.Enum(), Data: cc})
	}
	newHS := &raftpb.HardState{Term: proto.Uint64(term), Vote: proto.Uint64(self), Commit: proto.Uint64(index)}
	if err := s.Save(newHS, ents); err != nil {
		return fmt.Errorf("TAU_FORCE_NEW_CLUSTER: writing the removals: %w", err)
	}
	log.Warn("TAU_FORCE_NEW_CLUSTER: this member now forms a new cluster alone, with its data; every other member is removed. Unset the variable, then add members with tau cluster add",
		zap.Int("removed", len(others)), zap.Uint64("commit", index))
	return nil
}

// membersAt are the voters and learners after the configuration changes up to index upTo,
// starting from the snapshot's.
func membersAt(s *raftlog.Storage, cs *raftpb.ConfState, upTo uint64) (map[uint64]bool, error) {
	members := map[uint64]bool{}
	for _, id := range append(cs.GetVoters(), cs.GetLearners()...) {
		members[id] = true
	}
	first, err := s.FirstIndex()
	if err != nil {
		return nil, err
	}
	if upTo < first {
		return members, nil
	}
	ents, err := s.Entries(first, upTo+1, math.MaxUint64)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		var changes []*raftpb.ConfChangeSingle
		switch e.GetType() {
		case raftpb.EntryConfChange:
			var cc raftpb.ConfChange
			if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
				return nil, err
			}
			changes = cc.AsV2().GetChanges()
		case raftpb.EntryConfChangeV2:
			var cc raftpb.ConfChangeV2
			if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
				return nil, err
			}
			changes = cc.GetChanges()
		default:
			continue
		}
		for _, c := range changes {
			if c.GetType() == raftpb.ConfChangeRemoveNode {
				delete(members, c.GetNodeId())
			} else {
				members[c.GetNodeId()] = true
			}
		}
	}
	return members, nil
}
