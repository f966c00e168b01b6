package cluster

import (
	"encoding/binary"
	"errors"
)

// An entry's data is an envelope around the command, so that the node that proposed it can
// hand the outcome to its caller (all integers big-endian):
//
//	u8 version (1) | u64 group | u64 proposer node id | u64 request id | command
//
// The group is the Raft group the entry belongs to: 0 today; sharding series over several
// groups on the same nodes needs no format change. Version and layout are part of the log's
// format: a change is a new version, and the old one stays readable.
const (
	envelopeVersion = 1
	envelopeSize    = 1 + 8 + 8 + 8
)

var errBadEnvelope = errors.New("cluster: bad entry envelope")

type envelope struct {
	group, node, request uint64
	cmd                  []byte
}

func (e envelope) encode() []byte {
	b := make([]byte, envelopeSize, envelopeSize+len(e.cmd))
	b[0] = envelopeVersion
	binary.BigEndian.PutUint64(b[1:], e.group)
	binary.BigEndian.PutUint64(b[9:], e.node)
	binary.BigEndian.PutUint64(b[17:], e.request)
	return append(b, e.cmd...)
}

func decodeEnvelope(b []byte) (envelope, error) {
	if len(b) < envelopeSize || b[0] != envelopeVersion {
		return envelope{}, errBadEnvelope
	}
	return envelope{
		group:   binary.BigEndian.Uint64(b[1:]),
		node:    binary.BigEndian.Uint64(b[9:]),
		request: binary.BigEndian.Uint64(b[17:]),
		cmd:     b[envelopeSize:],
	}, nil
}

// A batch envelope (version 2) carries the commands of several requests of one proposer in one
// entry, so that the log, the peers and Raft handle one entry for them all:
//
//	u8 version (2) | u64 group | u64 proposer node id | u32 n | n × (u64 request id | u32 length | command)
//
// Each request is applied, and answered, as if it had its own entry, in the batch's order.
const (
	batchVersion    = 2
	batchHeaderSize = 1 + 8 + 8 + 4
)

// batchItem is one request of a batch.
type batchItem struct {
	request uint64
	cmd     []byte
}

func encodeBatch(group, node uint64, items []batchItem) []byte {
	size := batchHeaderSize
	for _, it := range items {
		size += 12 + len(it.cmd)
	}
	b := make([]byte, batchHeaderSize, size)
	b[0] = batchVersion
	binary.BigEndian.PutUint64(b[1:], group)
	binary.BigEndian.PutUint64(b[9:], node)
	binary.BigEndian.PutUint32(b[17:], uint32(len(items)))
	for _, it := range items {
		b = binary.BigEndian.AppendUint64(b, it.request)
		b = binary.BigEndian.AppendUint32(b, uint32(len(it.cmd)))
		b = append(b, it.cmd...)
	}
	return b
}

// decodeEntry reads an entry's data, of either version, as the envelopes of its requests.
func decodeEntry(b []byte) ([]envelope, error) {
	if len(b) > 0 && b[0] == envelopeVersion {
		e, err := decodeEnvelope(b)
		return []envelope{e}, err
	}
	if len(b) < batchHeaderSize || b[0] != batchVersion {
		return nil, errBadEnvelope
	}
	group, node := binary.BigEndian.Uint64(b[1:]), binary.BigEndian.Uint64(b[9:])
	n := binary.BigEndian.Uint32(b[17:])
	rest := b[batchHeaderSize:]
	out := make([]envelope, 0, min(n, 1<<16))
	for range n {
		if len(rest) < 12 {
			return nil, errBadEnvelope
		}
		req, l := binary.BigEndian.Uint64(rest), binary.BigEndian.Uint32(rest[8:])
		if uint64(len(rest)-12) < uint64(l) {
			return nil, errBadEnvelope
		}
		out = append(out, envelope{group: group, node: node, request: req, cmd: rest[12 : 12+l]})
		rest = rest[12+l:]
	}
	if len(rest) != 0 {
		return nil, errBadEnvelope
	}
	return out, nil
}
