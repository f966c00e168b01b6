package cluster

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/taudb/tau/internal/cluster/raftlog"
	"github.com/taudb/tau/internal/storage/wal"
)

// newDiskCluster is a cluster whose nodes keep their Raft state in the write-ahead log, each
// in its own directory, reopened from disk after every crash.
func newDiskCluster(t *testing.T, size int, seed int64) *cluster {
	root := t.TempDir()
	return newClusterOn(t, size, seed, func(id uint64) Storage {
		s, err := raftlog.Open(filepath.Join(root, fmt.Sprint(id)), wal.Options{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestC3_AcknowledgedSurvivesEveryNodeCrashing: every write acknowledged before all nodes
// crash at once is there after they restart from their logs, on every node, and writes go on.
func TestC3_AcknowledgedSurvivesEveryNodeCrashing(t *testing.T) {
	c := newDiskCluster(t, 3, 30)
	want := map[string]int{}
	for round := 0; round < 3; round++ {
		lead := c.leader()
		for i := 0; i < 20; i++ {
			k := fmt.Sprintf("k%d", i%5)
			id := c.ids[i%len(c.ids)]
			c.put(id, k, round*100+i)
			want[k] = round*100 + i
		}
		_ = lead
		for _, id := range c.ids {
			c.crash(id)
		}
		for _, id := range c.ids {
			c.start(id, c.ids)
		}
		c.leader()
		for _, id := range c.ids {
			for k, v := range want {
				got, err := c.get(id, k)
				for err != nil {
					got, err = c.get(id, k)
				}
				if got != v {
					t.Fatalf("round %d: node %d reads %s = %d after every node crashed; %d was acknowledged", round, id, k, got, v)
				}
			}
		}
	}
}

// TestC7_CatchUpFromASnapshotOnDisk: a node down while the others compacted their logs comes
// back from its own log and the leader's snapshot, and after a crash of its own it restarts
// from the snapshot it stored.
func TestC7_CatchUpFromASnapshotOnDisk(t *testing.T) {
	c := newDiskCluster(t, 3, 31)
	lead := c.leader()
	lagging := c.ids[0]
	if lagging == lead {
		lagging = c.ids[1]
	}
	c.put(lead, "early", 1)
	c.crash(lagging)
	for i := 0; i < 40; i++ {
		c.put(lead, fmt.Sprintf("k%d", i%4), i)
	}
	for _, id := range c.ids {
		if id != lagging {
			c.compact(id)
		}
	}
	c.start(lagging, c.ids)
	c.put(c.leader(), "after", 2)
	c.sameState(c.ids...)
	c.crash(lagging)
	c.start(lagging, c.ids)
	c.sameState(c.ids...)
	if v, err := c.get(lagging, "k3"); err != nil || v != 39 {
		t.Fatalf("the restarted node reads k3 = %d, %v; want 39", v, err)
	}
}
