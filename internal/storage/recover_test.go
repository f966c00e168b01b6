package storage

import (
	"testing"

	"github.com/taudb/tau/internal/series"
)

// TestReplayRules drives the replayer directly: a checkpointed state, then log records.
func TestReplayRules(t *testing.T) {
	a, b := lbl("a"), lbl("b")
	ckpt := func() map[series.Label]*SeriesState {
		s := NewSeries()
		s.Append(1, 10)
		s.Append(2, 20)
		return map[series.Label]*SeriesState{a: {Label: a, Series: s, LastLSN: 5}}
	}
	rec := func(r Record, lsn uint64) Record { r.LSN = lsn; return r }
	tests := []struct {
		name     string
		records  []Record
		want     model
		warnings int
	}{
		{"records in the snapshot are skipped", []Record{rec(create(a), 1), rec(app(a, 1, 10), 4), rec(app(a, 2, 20), 5)},
			model{a: {{1, 10}, {2, 20}}}, 0},
		{"records after the snapshot apply", []Record{rec(app(a, 2, 20), 5), rec(app(a, 3, 30), 6)},
			model{a: {{1, 10}, {2, 20}, {3, 30}}}, 0},
		{"drop after the snapshot removes", []Record{rec(drop(a), 6)}, model{}, 0},
		{"drop then recreate starts empty", []Record{rec(drop(a), 6), rec(create(a), 7), rec(app(a, 1, 99), 8)},
			model{a: {{1, 99}}}, 0},
		{"create of an absent label", []Record{rec(create(b), 6)}, model{a: {{1, 10}, {2, 20}}, b: {}}, 0},
		{"append to an absent label is skipped", []Record{rec(app(b, 1, 1), 6)}, model{a: {{1, 10}, {2, 20}}}, 0},
		{"dropped before the snapshot, absent from it", []Record{rec(create(b), 2), rec(app(b, 1, 1), 3), rec(drop(b), 4)},
			model{a: {{1, 10}, {2, 20}}}, 0},
		{"out-of-order append warns", []Record{rec(app(a, 2, 21), 6), rec(app(a, 3, 30), 7)},
			model{a: {{1, 10}, {2, 20}, {3, 30}}}, 1},
		{"create of a live label warns", []Record{rec(create(a), 6)}, model{a: {{1, 10}, {2, 20}}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, logs := observed()
			rp := &replayer{series: ckpt(), log: log}
			for i := range tc.records {
				rp.apply("wal/0000000000000001", &tc.records[i])
			}
			checkStates(t, rp.result(), tc.want)
			if logs.Len() != tc.warnings {
				t.Fatalf("%d warnings, want %d: %v", logs.Len(), tc.warnings, logs.All())
			}
		})
	}
}
