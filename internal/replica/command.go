package replica

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/series"
)

// A command is one effect on the engine, as it travels in a Raft entry (inside the cluster's
// envelope). Its layout (integers big-endian) is part of the log's format: a change is a new
// version, and the old one stays readable.
//
//	u8 version (1) | u8 op | label (32) | by op:
//	  create, drop, drop lens   nothing
//	  append                    i64 ts | u64 value bits
//	  batch                     u32 n | n × (i64 ts | u64 value bits)
//	  create lens               source label (32) | u8 length | transform name
//	  compose lens              first lens (32) | second lens (32)
//	  restore lens              source label (32) | u8 n | n × (u8 length | transform name)
//	  settings                  u64 catalog capacity | u64 lens capacity | i64 retention (ns);
//	                            the label is zero
//
// Restore lens (op 8, added after the first seven) carries a whole lens from a single node's
// data into the log of the cluster it founds; settings (op 9) the settings that decide
// outcomes, which every member must share (the first in the log holds).
const commandVersion = 1

// op numbers: never renumber.
type op byte

const (
	opCreate      op = 1
	opDrop        op = 2
	opAppend      op = 3
	opBatch       op = 4
	opCreateLens  op = 5
	opDropLens    op = 6
	opComposeLens op = 7
	opRestoreLens op = 8
	opSettings    op = 9
)

var errBadCommand = errors.New("replica: bad command")

type command struct {
	op        op
	label     series.Label
	ts        int64
	bits      uint64
	points    []engine.BatchPoint
	other     series.Label // create lens: the source; compose lens: the first lens
	second    series.Label // compose lens
	transform string
	chain     []string // restore lens: the transforms, by name
	settings  Settings // settings
}

func (c *command) encode() []byte {
	b := make([]byte, 0, 2+series.LabelSize+16+16*len(c.points))
	b = append(b, commandVersion, byte(c.op))
	b = append(b, c.label[:]...)
	switch c.op {
	case opAppend:
		b = binary.BigEndian.AppendUint64(b, uint64(c.ts))
		b = binary.BigEndian.AppendUint64(b, c.bits)
	case opBatch:
		b = binary.BigEndian.AppendUint32(b, uint32(len(c.points)))
		for _, p := range c.points {
			b = binary.BigEndian.AppendUint64(b, uint64(p.TS))
			b = binary.BigEndian.AppendUint64(b, p.Value)
		}
	case opCreateLens:
		b = append(b, c.other[:]...)
		b = append(b, byte(len(c.transform)))
		b = append(b, c.transform...)
	case opComposeLens:
		b = append(b, c.other[:]...)
		b = append(b, c.second[:]...)
	case opSettings:
		b = binary.BigEndian.AppendUint64(b, uint64(c.settings.CatalogCapacity))
		b = binary.BigEndian.AppendUint64(b, uint64(c.settings.LensCapacity))
		b = binary.BigEndian.AppendUint64(b, uint64(c.settings.Retention))
	case opRestoreLens:
		b = append(b, c.other[:]...)
		b = append(b, byte(len(c.chain)))
		for _, name := range c.chain {
			b = append(b, byte(len(name)))
			b = append(b, name...)
		}
	}
	return b
}

func decodeCommand(b []byte) (command, error) {
	var c command
	if len(b) < 2+series.LabelSize || b[0] != commandVersion {
		return c, errBadCommand
	}
	c.op = op(b[1])
	copy(c.label[:], b[2:])
	rest := b[2+series.LabelSize:]
	switch c.op {
	case opCreate, opDrop, opDropLens:
		if len(rest) != 0 {
			return c, errBadCommand
		}
	case opAppend:
		if len(rest) != 16 {
			return c, errBadCommand
		}
		c.ts, c.bits = int64(binary.BigEndian.Uint64(rest)), binary.BigEndian.Uint64(rest[8:])
	case opBatch:
		if len(rest) < 4 || uint64(len(rest)-4) != 16*uint64(binary.BigEndian.Uint32(rest)) {
			return c, errBadCommand
		}
		n := int(binary.BigEndian.Uint32(rest))
		c.points = make([]engine.BatchPoint, n)
		for i := range c.points {
			p := rest[4+16*i:]
			c.points[i] = engine.BatchPoint{TS: int64(binary.BigEndian.Uint64(p)), Value: binary.BigEndian.Uint64(p[8:])}
		}
	case opCreateLens:
		if len(rest) < series.LabelSize+1 || len(rest) != series.LabelSize+1+int(rest[series.LabelSize]) {
			return c, errBadCommand
		}
		copy(c.other[:], rest)
		c.transform = string(rest[series.LabelSize+1:])
	case opComposeLens:
		if len(rest) != 2*series.LabelSize {
			return c, errBadCommand
		}
		copy(c.other[:], rest)
		copy(c.second[:], rest[series.LabelSize:])
	case opSettings:
		if len(rest) != 24 {
			return c, errBadCommand
		}
		c.settings = Settings{CatalogCapacity: int(binary.BigEndian.Uint64(rest)),
			LensCapacity: int(binary.BigEndian.Uint64(rest[8:])), Retention: time.Duration(binary.BigEndian.Uint64(rest[16:]))}
	case opRestoreLens:
		var ok bool
		if c.chain, ok = decodeChain(rest, &c.other); !ok {
			return c, errBadCommand
		}
	default:
		return c, errBadCommand
	}
	return c, nil
}

// decodeChain reads a restore lens' source and transforms.
func decodeChain(rest []byte, source *series.Label) ([]string, bool) {
	if len(rest) < series.LabelSize+1 {
		return nil, false
	}
	copy(source[:], rest)
	n := int(rest[series.LabelSize])
	rest = rest[series.LabelSize+1:]
	chain := make([]string, 0, n)
	for range n {
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return nil, false
		}
		chain = append(chain, string(rest[1:1+int(rest[0])]))
		rest = rest[1+int(rest[0]):]
	}
	return chain, len(rest) == 0
}
