package transport

import (
	"bytes"
	"errors"
	"testing"
)

// Each proof depends on every input, and the client's and the server's differ on the same
// inputs, so that one cannot be replayed as the other.
func TestProof_BindsEveryInput(t *testing.T) {
	h := hello{cluster: 1, from: 2, to: 3, nonce: bytes.Repeat([]byte{1}, nonceSize)}
	sn := bytes.Repeat([]byte{2}, nonceSize)
	base := clientProof(testSecret, h, sn)
	if bytes.Equal(base, serverProof(testSecret, h, sn)) {
		t.Fatal("client and server proofs are alike")
	}
	variants := map[string][]byte{
		"secret":       clientProof(bytes.Repeat([]byte{9}, 32), h, sn),
		"cluster":      clientProof(testSecret, hello{cluster: 9, from: 2, to: 3, nonce: h.nonce}, sn),
		"from":         clientProof(testSecret, hello{cluster: 1, from: 9, to: 3, nonce: h.nonce}, sn),
		"to":           clientProof(testSecret, hello{cluster: 1, from: 2, to: 9, nonce: h.nonce}, sn),
		"client nonce": clientProof(testSecret, hello{cluster: 1, from: 2, to: 3, nonce: sn}, sn),
		"server nonce": clientProof(testSecret, h, h.nonce),
	}
	for name, p := range variants {
		if bytes.Equal(p, base) {
			t.Errorf("the proof does not depend on the %s", name)
		}
	}
	of := func(s []byte) []byte { return clientProof(s, h, sn) }
	other := bytes.Repeat([]byte{9}, 32)
	if err := checkProof(base, [][]byte{testSecret}, of); err != nil {
		t.Fatal(err)
	}
	if err := checkProof(base, [][]byte{other, testSecret}, of); err != nil {
		t.Fatalf("a proof by the second secret accepted: %v", err)
	}
	if err := checkProof(base, [][]byte{other}, of); !errors.Is(err, errBadProof) {
		t.Fatalf("a proof by another secret: %v", err)
	}
	if err := checkProof(base[:31], [][]byte{testSecret}, of); !errors.Is(err, errBadProof) {
		t.Fatalf("a short proof: %v", err)
	}
}

func TestHello_MetadataRoundTrip(t *testing.T) {
	h := hello{cluster: 1 << 63, from: 2, to: 3, nonce: newNonce()}
	got, err := parseHello(h.metadata())
	if err != nil || got.cluster != h.cluster || got.from != 2 || got.to != 3 || !bytes.Equal(got.nonce, h.nonce) {
		t.Fatalf("parsed %+v, %v", got, err)
	}
	if bytes.Equal(newNonce(), newNonce()) {
		t.Fatal("two nonces alike")
	}
}
