package cluster

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"testing"

	"github.com/taudb/tau/internal/testenv/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from today's encoders")

// goldenEnvelopes are the content of testdata/envelope-v1.golden, each written as u32
// length | envelope. Raft entries hold them on disk: never change them.
func goldenEnvelopes() []envelope {
	return []envelope{
		{group: 0, node: 1, request: 1, cmd: []byte("put k 1")},
		{group: 7, node: 1<<64 - 1, request: 1 << 63, cmd: nil},
		{group: 0, node: 3, request: 42, cmd: []byte{0, 0xff, 1}},
	}
}

func TestGoldenEnvelope(t *testing.T) {
	var want []byte
	for _, e := range goldenEnvelopes() {
		b := e.encode()
		want = binary.BigEndian.AppendUint32(want, uint32(len(b)))
		want = append(want, b...)
	}
	golden.Check(t, "testdata/envelope-v1.golden", want, *update)
	data, err := os.ReadFile("testdata/envelope-v1.golden")
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range goldenEnvelopes() {
		n := binary.BigEndian.Uint32(data)
		got, err := decodeEnvelope(data[4 : 4+n])
		if err != nil || got.group != e.group || got.node != e.node || got.request != e.request || !bytes.Equal(got.cmd, e.cmd) {
			t.Fatalf("envelope %d decodes to %+v, %v; want %+v", i, got, err, e)
		}
		data = data[4+n:]
	}
	for _, bad := range [][]byte{nil, {2}, make([]byte, envelopeSize-1), append([]byte{2}, make([]byte, envelopeSize)...)} {
		if _, err := decodeEnvelope(bad); err == nil {
			t.Fatalf("%x decodes", bad)
		}
	}
}

// TestGoldenBatchEnvelope pins the batch envelope (version 2): Raft entries hold it on disk.
func TestGoldenBatchEnvelope(t *testing.T) {
	items := []batchItem{{request: 1, cmd: []byte("put k 1")}, {request: 1 << 63, cmd: nil}, {request: 42, cmd: []byte{0, 0xff}}}
	b := encodeBatch(7, 3, items)
	golden.Check(t, "testdata/envelope-v2.golden", b, *update)
	data, err := os.ReadFile("testdata/envelope-v2.golden")
	if err != nil {
		t.Fatal(err)
	}
	envs, err := decodeEntry(data)
	if err != nil || len(envs) != len(items) {
		t.Fatalf("the golden batch decodes to %d envelopes, %v", len(envs), err)
	}
	for i, e := range envs {
		if e.group != 7 || e.node != 3 || e.request != items[i].request || !bytes.Equal(e.cmd, items[i].cmd) {
			t.Fatalf("request %d decodes to %+v", i, e)
		}
	}
	for _, bad := range [][]byte{data[:len(data)-1], append(append([]byte(nil), data...), 0), data[:batchHeaderSize-1]} {
		if _, err := decodeEntry(bad); err == nil {
			t.Fatalf("%x decodes", bad)
		}
	}
}
