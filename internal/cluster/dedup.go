package cluster

// dedup remembers, per proposer, the request ids of the last entries applied, so that an
// entry committed twice (proposed again after a leader change, or a message the network
// duplicated) is applied once. It is fed in log order, so it is the same on every replica and
// after a replay; it forgets the oldest ids beyond dedupWindow per proposer, far more than a
// node has in flight within a request timeout.
type dedup struct {
	byNode map[uint64]*recent
}

const dedupWindow = 1 << 16

type recent struct {
	seen map[uint64]struct{}
	ring []uint64
	next int
}

func newDedup() dedup { return dedup{byNode: map[uint64]*recent{}} }

// first records (node, request) and reports whether it was not seen before. Request 0 (the
// founding entries) is never a duplicate.
func (d dedup) first(node, request uint64) bool {
	if request == 0 {
		return true
	}
	r := d.byNode[node]
	if r == nil {
		r = &recent{seen: map[uint64]struct{}{}}
		d.byNode[node] = r
	}
	if _, ok := r.seen[request]; ok {
		return false
	}
	if len(r.ring) < dedupWindow {
		r.ring = append(r.ring, request)
	} else {
		delete(r.seen, r.ring[r.next])
		r.ring[r.next] = request
		r.next = (r.next + 1) % dedupWindow
	}
	r.seen[request] = struct{}{}
	return true
}
