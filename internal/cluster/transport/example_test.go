package transport_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"

	"github.com/oklog/run"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/taudb/tau/internal/cluster/transport"
)

// inbox hands received messages to a node loop; a real one calls RawNode.Step from the loop.
type inbox chan *raftpb.Message

func (in inbox) Process(ctx context.Context, m *raftpb.Message) error {
	select {
	case in <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (inbox) ReportUnreachable(uint64)                   {}
func (inbox) ReportSnapshot(uint64, raft.SnapshotStatus) {}

type noSnapshots struct{}

func (noSnapshots) Open(*raftpb.SnapshotMetadata) (io.ReadCloser, int64, error) {
	return io.NopCloser(bytes.NewReader(nil)), 0, nil
}
func (noSnapshots) Receive(*raftpb.SnapshotMetadata, io.Reader) error { return nil }

// Two nodes of cluster 7 on loopback: node 1 sends a heartbeat to node 2, as a node loop sends
// the messages of a Ready. Serve and Close are a run.Group actor and its interrupt.
func Example() {
	secret := bytes.Repeat([]byte{0x42}, 32) // the certificate every member mounts
	received := make(inbox, 1)
	start := func(id uint64, h transport.Handler) (*transport.Transport, net.Listener) {
		t, err := transport.New(transport.Options{ClusterID: 7, NodeID: id, Secret: secret}, h, noSnapshots{}, noSnapshots{})
		if err != nil {
			log.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0") // bound before the group runs
		if err != nil {
			log.Fatal(err)
		}
		return t, ln
	}
	t1, ln1 := start(1, make(inbox, 1))
	t2, ln2 := start(2, received)

	var g run.Group
	g.Add(func() error { return t1.Serve(ln1) }, func(error) { _ = t1.Close() })
	g.Add(func() error { return t2.Serve(ln2) }, func(error) { _ = t2.Close() })
	g.Add(func() error {
		t1.AddPeer(2, ln2.Addr().String())
		from, to, term := uint64(1), uint64(2), uint64(3)
		t1.Send([]*raftpb.Message{{Type: raftpb.MsgHeartbeat.Enum(), From: &from, To: &to, Term: &term}})
		m := <-received
		fmt.Println(m.GetType(), "from", m.GetFrom(), "at term", m.GetTerm())
		return nil // the group stops
	}, func(error) {})
	if err := g.Run(); err != nil {
		log.Fatal(err)
	}
	// Output: MsgHeartbeat from 1 at term 3
}
