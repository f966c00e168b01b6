package client

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/taudb/tau/pkg/protocol"
)

// ParseLabel reads a label as people write it: a name of at most 32 bytes, zero-padded on the
// right (the clients' convention, R6), or "hex:" followed by 64 hex digits for a label with
// arbitrary bytes. Unlike protocol.LabelFromString it refuses names that would be cut.
func ParseLabel(s string) (protocol.Label, error) {
	var l protocol.Label
	if h, ok := strings.CutPrefix(s, "hex:"); ok {
		if len(h) != 2*protocol.LabelSize {
			return l, fmt.Errorf("label %q: want hex: and 64 hex digits, got %d digits", s, len(h))
		}
		if _, err := hex.Decode(l[:], []byte(h)); err != nil {
			return l, fmt.Errorf("label %q: not hex", s)
		}
		return l, nil
	}
	if len(s) > protocol.LabelSize {
		return l, fmt.Errorf("label %q is %d bytes; at most %d fit (or use hex:<64 hex digits>)", s, len(s), protocol.LabelSize)
	}
	return protocol.LabelFromString(s), nil
}
