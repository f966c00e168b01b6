package catalog

import (
	"github.com/taudb/tau/internal/actor"
	"github.com/taudb/tau/internal/storage"
)

// Checkpoint writes every series to st so the log before it can go: cut the log, then snapshot
// each actor (each after its own queued work), then commit. A series created after the cut has
// its records in the new segment; one dropped after it, too.
func (c *Catalog) Checkpoint(st storage.Store) error {
	mark, err := st.BeginCheckpoint()
	if err != nil {
		return err
	}
	var series []*actor.Series
	c.mu.Lock() // a consistent list: no create or drop half done
	c.Each(func(s *actor.Series) { series = append(series, s) })
	c.mu.Unlock()
	snaps := make([]storage.SeriesSnapshot, 0, len(series))
	taken := series[:0] // the actors of snaps, in the same order
	for _, s := range series {
		var snap storage.SeriesSnapshot
		if s.Snapshot(&snap) {
			snaps = append(snaps, snap)
			taken = append(taken, s)
		}
	}
	return st.CommitCheckpoint(mark, snaps, func() {
		for i, s := range taken {
			s.Install(&snaps[i])
		}
	})
}
