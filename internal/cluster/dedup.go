package cluster

import (
	"encoding/binary"
	"errors"
	"slices"
)

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

// wrap prefixes a snapshot's state machine data with the dedup state, so that a node restored
// from it applies a duplicate entry after it once too. Layout (big-endian): u32 proposers |
// per proposer: u64 node | u32 n | n × u64 request (oldest first) | then data.
func (d dedup) wrap(data []byte) []byte {
	nodes := make([]uint64, 0, len(d.byNode))
	for id := range d.byNode {
		nodes = append(nodes, id)
	}
	slices.Sort(nodes)
	b := binary.BigEndian.AppendUint32(nil, uint32(len(nodes)))
	for _, id := range nodes {
		r := d.byNode[id]
		b = binary.BigEndian.AppendUint64(b, id)
		b = binary.BigEndian.AppendUint32(b, uint32(len(r.ring)))
		for i := range r.ring {
			b = binary.BigEndian.AppendUint64(b, r.ring[(r.next+i)%len(r.ring)])
		}
	}
	return append(b, data...)
}

// unwrap replaces the dedup state with the one data begins with and returns the rest.
func (d dedup) unwrap(data []byte) ([]byte, error) {
	clear(d.byNode)
	if len(data) == 0 {
		return nil, nil
	}
	bad := errors.New("cluster: bad dedup state in a snapshot")
	if len(data) < 4 {
		return nil, bad
	}
	n := binary.BigEndian.Uint32(data)
	data = data[4:]
	for range n {
		if len(data) < 12 {
			return nil, bad
		}
		id, k := binary.BigEndian.Uint64(data), binary.BigEndian.Uint32(data[8:])
		data = data[12:]
		if uint64(len(data)) < 8*uint64(k) {
			return nil, bad
		}
		for i := range k {
			d.first(id, binary.BigEndian.Uint64(data[8*i:]))
		}
		data = data[8*k:]
	}
	return data, nil
}

// wrapInfos prefixes a snapshot's data with the members' infos, which the entries that carried
// them no longer hold once the log is compacted: u32 n | n × (u64 id | u32 length | info),
// ids ascending.
func wrapInfos(infos map[uint64][]byte, data []byte) []byte {
	ids := make([]uint64, 0, len(infos))
	for id := range infos {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b := binary.BigEndian.AppendUint32(nil, uint32(len(ids)))
	for _, id := range ids {
		b = binary.BigEndian.AppendUint64(b, id)
		b = binary.BigEndian.AppendUint32(b, uint32(len(infos[id])))
		b = append(b, infos[id]...)
	}
	return append(b, data...)
}

// unwrapInfos splits what wrapInfos joined; empty data has no infos.
func unwrapInfos(data []byte) (map[uint64][]byte, []byte, error) {
	infos := map[uint64][]byte{}
	if len(data) == 0 {
		return infos, nil, nil
	}
	bad := errors.New("cluster: bad member infos in a snapshot")
	if len(data) < 4 {
		return nil, nil, bad
	}
	n := binary.BigEndian.Uint32(data)
	data = data[4:]
	for range n {
		if len(data) < 12 {
			return nil, nil, bad
		}
		id, l := binary.BigEndian.Uint64(data), binary.BigEndian.Uint32(data[8:])
		if uint64(len(data)-12) < uint64(l) {
			return nil, nil, bad
		}
		infos[id] = append([]byte(nil), data[12:12+l]...)
		data = data[12+l:]
	}
	return infos, data, nil
}
