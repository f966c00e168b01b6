package transport

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"go.etcd.io/raft/v3/raftpb"
)

// BenchmarkTransport_MsgApp: MsgApps of one entry of 64 B or 1 KiB from one transport to
// another on loopback, at most window in flight, each through Process; each message alone in
// its gRPC message (BatchBytes 1) or coalesced (the default). It reports the mean ping round
// trip seen meanwhile, queueing on the stream included.
func BenchmarkTransport_MsgApp(b *testing.B) {
	for _, entry := range []int{64, 1 << 10} {
		for _, batch := range []int{1, 0} {
			name := fmt.Sprintf("entry=%d/batch=%d", entry, batch)
			b.Run(name, func(b *testing.B) { benchMsgApp(b, entry, batch) })
		}
	}
}

func benchMsgApp(b *testing.B, entry, batch int) {
	const window = 1024
	a := startNode(b, 1, "", nil, func(o *Options) { o.BatchBytes = batch })
	r := startNode(b, 2, "", nil)
	a.t.AddPeer(2, r.addr)
	m := msg(raftpb.MsgApp, 1, 2, 1)
	m.Entries = []*raftpb.Entry{{Data: make([]byte, entry)}}
	b.SetBytes(int64(entry))
	b.ResetTimer()
	got := 0
	for i := 0; i < b.N; i++ {
		a.t.Send([]*raftpb.Message{m})
		for i+1-got > window {
			<-r.h.msgs
			got++
		}
	}
	for got < b.N {
		<-r.h.msgs
		got++
	}
	b.StopTimer()
	var h dto.Metric
	if err := a.t.m.roundTrip.WithLabelValues("2").(prometheus.Metric).Write(&h); err == nil && h.GetHistogram().GetSampleCount() > 0 {
		b.ReportMetric(h.GetHistogram().GetSampleSum()/float64(h.GetHistogram().GetSampleCount())*1e6, "rtt-µs")
	}
	if d := testutil.ToFloat64(a.t.m.dropped.WithLabelValues("2", dropQueueFull)); d != 0 {
		b.Fatalf("%v dropped: the window outran the queue", d)
	}
}

// BenchmarkTransport_Snapshot: one snapshot of 64 MiB, streamed, hashed on both sides and
// hashed again by the sink, with stream windows of 1 MiB and 4 MiB (the default), and chunks of
// 256 KiB and 1 MiB (the default).
func BenchmarkTransport_Snapshot(b *testing.B) {
	for _, window := range []int{1 << 20, 4 << 20} {
		for _, chunk := range []int{256 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("window=%dKiB/chunk=%dKiB", window>>10, chunk>>10), func(b *testing.B) {
				benchSnapshot(b, func(o *Options) { o.WindowBytes, o.SnapshotChunk = window, chunk })
			})
		}
	}
}

func benchSnapshot(b *testing.B, opt nodeOpt) {
	src := genSnapshot{size: 64 << 20}
	a := startNode(b, 1, "", src, opt)
	r := startNode(b, 2, "", nil, opt)
	connect(a, r)
	snap := msg(raftpb.MsgSnap, 1, 2, 0)
	snap.Snapshot = &raftpb.Snapshot{Metadata: raftpb.EnsureSnapshotMetadata(nil)}
	b.SetBytes(src.size)
	b.ResetTimer()
	for range b.N {
		a.t.Send([]*raftpb.Message{snap})
		<-a.h.snapReports
		<-r.h.msgs
	}
}
