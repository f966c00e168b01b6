package transport

import (
	"bytes"
	"errors"
	"flag"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/taudb/tau/internal/testenv/golden"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenFrames are one frame of each kind the peer format v1 has, with every field set at
// least once.
func goldenFrames(t testing.TB) []*frame {
	t.Helper()
	app := msg(raftpb.MsgApp, 1, 2, 41)
	term, commit := uint64(3), uint64(40)
	app.Term, app.Commit = &term, &commit
	app.Entries = []*raftpb.Entry{{Term: &term, Index: new(uint64(42)), Data: []byte("point")}}
	m, err := proto.Marshal(app)
	if err != nil {
		t.Fatal(err)
	}
	return []*frame{
		{proof: bytes.Repeat([]byte{0xab}, 32)},
		{group: 0, messages: [][]byte{m}},
		{group: 7, messages: [][]byte{m, m}},
		{ping: 123456789},
		{pong: 123456789},
		{group: 0, messages: [][]byte{m}, size: 1 << 30},
		{chunk: []byte("chunk of data")},
		{sha256: bytes.Repeat([]byte{0xcd}, 32)},
	}
}

// TestFrame_Golden pins the peer format v1: each frame is written length-prefixed in a row.
func TestFrame_Golden(t *testing.T) {
	var out []byte
	for _, f := range goldenFrames(t) {
		out = protowire.AppendBytes(out, f.appendTo(nil))
	}
	golden.Check(t, filepath.Join("testdata", "frames-v1.golden"), out, *update)
}

func TestFrame_RoundTrip(t *testing.T) {
	for _, f := range goldenFrames(t) {
		var got frame
		b := f.appendTo(nil)
		if err := got.decode(b); err != nil {
			t.Fatal(err)
		}
		got.wire = 0
		if !equalFrames(&got, f) {
			t.Fatalf("decoded %+v, want %+v", got, *f)
		}
	}
}

func equalBytes(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func equalFrames(a, b *frame) bool {
	return a.group == b.group && a.ping == b.ping && a.pong == b.pong && a.size == b.size &&
		equalBytes(a.messages, b.messages) && bytes.Equal(a.proof, b.proof) &&
		bytes.Equal(a.chunk, b.chunk) && bytes.Equal(a.sha256, b.sha256)
}

// The message frame Send queues is the frame of its encoded message.
func TestFrame_EncodeMessageMatchesFrame(t *testing.T) {
	m := msg(raftpb.MsgHeartbeat, 1, 2, 0)
	b, err := encodeMessage(5, m)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := proto.Marshal(m)
	if !bytes.Equal(b, (&frame{group: 5, messages: [][]byte{want}}).appendTo(nil)) {
		t.Fatal("encodeMessage differs from frame.appendTo")
	}
}

func TestFrame_Decode(t *testing.T) {
	tag := func(n protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, n, typ) }
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	cases := []struct {
		name    string
		in      []byte
		want    frame
		wantErr bool
	}{
		{"empty", nil, frame{}, false},
		{"group", cat(tag(1, protowire.VarintType), []byte{7}), frame{group: 7}, false},
		{"unknown varint field skipped", cat(tag(99, protowire.VarintType), []byte{1}, tag(3, protowire.VarintType), []byte{9}), frame{ping: 9}, false},
		{"unknown bytes field skipped", cat(tag(20, protowire.BytesType), []byte{2, 'h', 'i'}), frame{}, false},
		{"group as bytes", cat(tag(1, protowire.BytesType), []byte{1, 0}), frame{}, true},
		{"message as varint", cat(tag(2, protowire.VarintType), []byte{1}), frame{}, true},
		{"truncated bytes", cat(tag(7, protowire.BytesType), []byte{5, 'a'}), frame{}, true},
		{"truncated varint", cat(tag(3, protowire.VarintType), []byte{0x80}), frame{}, true},
		{"bad tag", []byte{0x80}, frame{}, true},
		{"field zero", []byte{0x00, 0x01}, frame{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got frame
			err := got.decode(c.in)
			if c.wantErr {
				if !errors.Is(err, errMalformed) {
					t.Fatalf("got %v, want errMalformed", err)
				}
				return
			}
			if err != nil || !equalFrames(&got, &c.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestFrame_RaftMessage(t *testing.T) {
	if _, err := (&frame{}).raftMessage(0); !errors.Is(err, errMalformed) {
		t.Fatalf("no message: got %v", err)
	}
	if _, err := (&frame{messages: [][]byte{{0xff}}}).raftMessage(0); !errors.Is(err, errMalformed) {
		t.Fatalf("bad message: got %v", err)
	}
}

// FuzzFrame: no input makes the decoder panic, and what decodes re-encodes to a frame that
// decodes alike.
func FuzzFrame(f *testing.F) {
	for _, fr := range goldenFrames(f) {
		f.Add(fr.appendTo(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a frame
		if a.decode(b) != nil {
			return
		}
		var c frame
		if err := c.decode(a.appendTo(nil)); err != nil || !equalFrames(&a, &c) {
			t.Fatalf("re-encoding %x: %v", b, err)
		}
		for i := range a.messages {
			_, _ = a.raftMessage(i)
		}
	})
}

// Frames of a group joined decode as one frame of all their messages, in order: how the sender
// coalesces what it takes from a queue.
func TestJoin(t *testing.T) {
	var frames []encoded
	var want [][]byte
	for i := range uint64(3) {
		m := msg(raftpb.MsgApp, 1, 2, i)
		b, err := encodeMessage(3, m)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := proto.Marshal(m)
		frames, want = append(frames, b), append(want, raw)
	}
	var f frame
	if err := f.decode(join(frames)); err != nil || f.group != 3 || !equalBytes(f.messages, want) {
		t.Fatalf("joined frame: %v, group %d, messages %x, want %x", err, f.group, f.messages, want)
	}
}
