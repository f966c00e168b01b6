package wal

import "testing"

func TestCheckContiguous(t *testing.T) {
	tests := []struct {
		segs  []uint64
		first uint64
		ok    bool
	}{
		{nil, 0, true}, {[]uint64{1, 2, 3}, 0, true}, {[]uint64{2, 3}, 0, false},
		{[]uint64{4, 5}, 4, true}, {[]uint64{5}, 4, false}, {[]uint64{4, 6}, 4, false}, {nil, 4, true},
	}
	for _, tc := range tests {
		if err := checkContiguous(tc.segs, tc.first); (err == nil) != tc.ok {
			t.Errorf("checkContiguous(%v, %d) = %v", tc.segs, tc.first, err)
		}
	}
}
