package catalog

import (
	"slices"
	"sync"

	"github.com/taudb/tau/internal/series"
)

// MaxListLimit is the most labels one listing page holds (E1's 4096).
const MaxListLimit = 4096

// index is the catalog's ordered view of its labels, for listings (E1). The routing table is
// a sync.Map, lock-free for every request but unordered; the index beside it is a sorted slice
// under a read-write lock, changed only by create, drop and restore (each under the catalog's
// lock too), so requests never touch it.
//
// Cost, at the default capacity of 10,000 series (320 KB of labels): a create or drop is a
// binary search and a memmove of half the slice on average, about 160 KB or a few
// microseconds, and allocates only when the slice grows. A page is a binary search and a copy
// of at most 4096 labels (128 KB), under the read lock. A copy-on-write slice published
// atomically would keep listings lock-free, but would allocate and copy all 320 KB on every
// create and drop; a B-tree would make both O(log n) for more code than these sizes need.
//
// Each page is read under the lock, so it is exact for one instant: every label in
// [start, last returned] that existed then is in it. Pages continue at the successor of the
// last label returned, so they cover disjoint, adjacent label ranges, and a series that exists
// for the whole listing falls into exactly one page and is in it, whatever is created or
// dropped between pages.
type index struct {
	mu     sync.RWMutex
	labels []series.Label // ascending, byte-wise
}

func (x *index) search(l series.Label) (int, bool) {
	return slices.BinarySearchFunc(x.labels, l, series.Compare)
}

// insert adds a label that is not in the index.
func (x *index) insert(l series.Label) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if i, found := x.search(l); !found {
		x.labels = slices.Insert(x.labels, i, l)
	}
}

// remove takes a label out of the index.
func (x *index) remove(l series.Label) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if i, found := x.search(l); found {
		x.labels = slices.Delete(x.labels, i, i+1)
	}
}

// reset replaces the whole index (recovery).
func (x *index) reset(labels []series.Label) {
	slices.SortFunc(labels, series.Compare)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.labels = labels
}

// page appends to dst the labels >= start, ascending, at most limit of them (1..MaxListLimit;
// any other value means MaxListLimit); more reports that further labels follow the last one.
func (x *index) page(start series.Label, limit int, dst []series.Label) (labels []series.Label, more bool) {
	if limit < 1 || limit > MaxListLimit {
		limit = MaxListLimit
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	i, _ := x.search(start)
	j := min(len(x.labels), i+limit)
	return append(dst, x.labels[i:j]...), j < len(x.labels)
}
