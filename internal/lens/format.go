package lens

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/taudb/tau/internal/series"
)

// The lens file, format version 1 (docs/storage-format.md, "Lenses"). Little-endian, as every
// file in the data directory:
//
//	header   "TAULENS" <7b> | version '1' <1b> | file sequence number <8b> | lens count <4b>
//	lenses   count × (label <32b> | source <32b> | steps <2b> | steps × transform <1b>)
//	trailer  CRC32C of every byte before it <4b>
//
// Lenses are in ascending label order, each label once; a chain has 1 to MaxChain steps, each
// a Transform's number. A file that breaks any of this, or whose CRC fails, is damage.

const (
	fileMagic   = "TAULENS"
	fileVersion = '1'
	headerSize  = 7 + 1 + 8 + 4
	crcSize     = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errDamaged marks a file that does not decode: skipped at load for an older one.
var errDamaged = errors.New("lens: damaged state file")

// VersionError is a lens file of a format version this release does not read: loading stops
// rather than guess, or fall back to an older file that lacks what the newer one holds.
type VersionError struct {
	Path    string
	Version int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("lens: state file %s is format version %d; this release reads version 1 only (was it written by a newer release?)", e.Path, e.Version)
}

// encode writes lenses (sorted, valid) as the file numbered seq.
func encode(seq uint64, lenses []Lens) []byte {
	size := headerSize + crcSize
	for _, ln := range lenses {
		size += 2*series.LabelSize + 2 + len(ln.Chain)
	}
	b := make([]byte, 0, size)
	b = append(b, fileMagic...)
	b = append(b, fileVersion)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(lenses)))
	for _, ln := range lenses {
		b = append(b, ln.Label[:]...)
		b = append(b, ln.Source[:]...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(ln.Chain)))
		for _, t := range ln.Chain {
			b = append(b, byte(t))
		}
	}
	return appendCRC(b)
}

// appendCRC seals a file's bytes with their CRC32C.
func appendCRC(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decode reads a whole file; seq is the number its name says, which its header must repeat.
func decode(b []byte, seq uint64) ([]Lens, error) {
	if len(b) < headerSize+crcSize || string(b[:7]) != fileMagic {
		return nil, fmt.Errorf("%w: no header", errDamaged)
	}
	body, sum := b[:len(b)-crcSize], binary.LittleEndian.Uint32(b[len(b)-crcSize:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", errDamaged)
	}
	// The version is read once the CRC verifies: before that, a damaged byte is just damage.
	if v := b[7]; v != fileVersion {
		if v >= '0' && v <= '9' {
			return nil, &VersionError{Version: int(v - '0')}
		}
		return nil, fmt.Errorf("%w: version byte %#02x", errDamaged, v)
	}
	if s := binary.LittleEndian.Uint64(b[8:]); s != seq {
		return nil, fmt.Errorf("%w: header names file %d", errDamaged, s)
	}
	count := binary.LittleEndian.Uint32(b[16:])
	p := body[headerSize:]
	lenses := make([]Lens, 0, min(int(count), len(p)/(2*series.LabelSize+3)))
	for i := uint32(0); i < count; i++ {
		if len(p) < 2*series.LabelSize+2 {
			return nil, fmt.Errorf("%w: lens %d cut short", errDamaged, i)
		}
		ln := Lens{Label: series.Label(p[:32]), Source: series.Label(p[32:64])}
		steps := int(binary.LittleEndian.Uint16(p[64:]))
		p = p[66:]
		if steps == 0 || steps > MaxChain || steps > len(p) {
			return nil, fmt.Errorf("%w: lens %d has a chain of %d steps", errDamaged, i, steps)
		}
		ln.Chain = make(Chain, steps)
		for j, code := range p[:steps] {
			if ln.Chain[j] = Transform(code); !ln.Chain[j].valid() {
				return nil, fmt.Errorf("%w: lens %d: transform %d", errDamaged, i, code)
			}
		}
		p = p[steps:]
		if k := len(lenses); k > 0 && series.Compare(lenses[k-1].Label, ln.Label) >= 0 {
			return nil, fmt.Errorf("%w: lens %d out of order", errDamaged, i)
		}
		lenses = append(lenses, ln)
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last lens", errDamaged, len(p))
	}
	return lenses, nil
}
