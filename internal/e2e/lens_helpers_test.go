package e2e

import (
	"testing"

	"github.com/taudb/tau/pkg/protocol"
)

// createLensP is a CREATE_LENS payload; the transform name is padded with zero bytes.
func createLensP(l, source protocol.Label, transform string) []byte {
	p, err := protocol.EncodeCreateLens(nil, l, source, transform)
	if err != nil {
		panic(err)
	}
	return p
}

// composeLensP is a COMPOSE_LENS payload.
func composeLensP(l, first, second protocol.Label) []byte {
	return protocol.EncodeComposeLens(nil, l, first, second)
}

// listLenses asks LIST_LENSES and decodes its labels.
func (c *rawConn) listLenses(payload []byte) []protocol.Label {
	c.t.Helper()
	a := c.call(protocol.OpListLenses, payload)
	if a.op != protocol.OpOK {
		c.t.Fatalf("LIST_LENSES: %v", a)
	}
	labels, err := protocol.DecodeLensList(a.payload, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return labels
}

// bitsAnswer is a QUERY_POINT or QUERY_LENS answer holding value bits.
func bitsAnswer(bits uint64) answer {
	return answer{protocol.OpOK, protocol.AppendQueryAnswer(nil, true, bits)[protocol.HeaderSize:]}
}

// mustLens creates a lens and expects OK.
func (c *rawConn) mustLens(t testing.TB, l, source protocol.Label, transform string) {
	t.Helper()
	c.expect(c.call(protocol.OpCreateLens, createLensP(l, source, transform)), okAnswer)
}
