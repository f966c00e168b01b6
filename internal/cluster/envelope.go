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
