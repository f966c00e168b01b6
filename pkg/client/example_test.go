package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/server"
	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/protocol"
)

// addr is the in-process server the examples talk to; in real code it is the server's
// TAU_LISTEN_ADDRESS, e.g. "127.0.0.1:7701".
var addr string

// TestMain runs one real in-memory server for the examples, which have no testing.TB to start
// one with servertest.
func TestMain(m *testing.M) {
	cfg := config.Default()
	cfg.ListenAddress, cfg.HTTPAddress = "127.0.0.1:0", "127.0.0.1:0"
	dir, err := os.MkdirTemp("", "tau-client-examples")
	if err != nil {
		log.Fatal(err)
	}
	cfg.DataDir = dir // the series are in memory; the lenses keep their small state here
	srv, err := server.New(cfg, zap.NewNop(), prometheus.NewRegistry(), server.Options{Store: engine.MemoryStore()})
	if err != nil {
		log.Fatal(err)
	}
	addr = srv.Addr()
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- srv.Run(stop) }()
	code := m.Run()
	close(stop)
	if err := <-done; err != nil {
		log.Print(err)
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func Example() {
	ctx := context.Background()
	conn, err := client.Dial(ctx, addr, protocol.DevCertificate, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	cpu := protocol.LabelFromString("example.cpu")
	if err := conn.Create(ctx, cpu); err != nil {
		log.Fatal(err)
	}
	if err := conn.Append(ctx, cpu, 1700000000000000000, 0.42); err != nil {
		log.Fatal(err)
	}
	v, found, err := conn.Query(ctx, cpu, 1700000000000000000)
	fmt.Println(v, found, err)
	_, found, err = conn.Query(ctx, cpu, 1700000000000000001)
	fmt.Println(found, err)
	// Output:
	// 0.42 true <nil>
	// false <nil>
}

// Every ERR status is a *StatusError that matches its sentinel with errors.Is and says what the
// status means.
func ExampleStatusError() {
	ctx := context.Background()
	conn, err := client.Dial(ctx, addr, protocol.DevCertificate, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	err = conn.Drop(ctx, protocol.LabelFromString("example.missing"))
	fmt.Println(errors.Is(err, client.ErrSeriesNotFound))
	fmt.Println(err)

	var se *client.StatusError
	if errors.As(err, &se) {
		fmt.Printf("status 0x%02x %v\n", byte(se.Status), se.Status)
	}
	// Output:
	// true
	// tau: DROP_SERIES: series_not_found: no series has that label
	// status 0x07 series_not_found
}

// Values keep their exact bits; QueryBits and AppendBits work on them directly.
func ExampleConn_QueryBits() {
	ctx := context.Background()
	conn, err := client.Dial(ctx, addr, protocol.DevCertificate, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	l := protocol.LabelFromString("example.nan")
	if err := conn.Create(ctx, l); err != nil {
		log.Fatal(err)
	}
	nan := math.Float64frombits(0x7ff8_0000_dead_beef) // a NaN carrying a payload
	if err := conn.Append(ctx, l, 1, nan); err != nil {
		log.Fatal(err)
	}
	bits, found, err := conn.QueryBits(ctx, l, 1)
	fmt.Printf("%#x %v %v\n", bits, found, err)
	// Output:
	// 0x7ff80000deadbeef true <nil>
}

// A Batch goes out in one write and keeps its order; each request has its own result.
func ExampleConn_Do() {
	ctx := context.Background()
	conn, err := client.Dial(ctx, addr, protocol.DevCertificate, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	l := protocol.LabelFromString("example.batch")
	var b client.Batch
	b.Create(l)
	for ts := int64(1); ts <= 3; ts++ {
		b.Append(l, ts, float64(ts)*1.5)
	}
	b.Append(l, 2, 0) // not after the last point
	b.Query(l, 3)
	if err := conn.Do(ctx, &b); err != nil {
		log.Fatal(err) // the connection failed; statuses are in the results
	}
	for i, r := range b.Results() {
		fmt.Println(i, r.Err, r.Found, r.Value())
	}
	// Output:
	// 0 <nil> false 0
	// 1 <nil> false 0
	// 2 <nil> false 0
	// 3 <nil> false 0
	// 4 tau: APPEND: out_of_order: the timestamp is not after the series' last point false 0
	// 5 <nil> true 4.5
}

func ExamplePool() {
	ctx := context.Background()
	pool := client.NewPool(addr, protocol.DevCertificate, 4, nil)
	defer pool.Close()

	l := protocol.LabelFromString("example.pool")
	err := pool.Create(ctx, l)
	fmt.Println(err)
	err = pool.Create(ctx, l)
	fmt.Println(errors.Is(err, client.ErrSeriesAlreadyExists))
	// Output:
	// <nil>
	// true
}

// Range pages through a time range on its own: raw points with their exact bits, or buckets of
// an aggregation, each timestamped with its bucket's start.
func ExampleConn_Range() {
	ctx := context.Background()
	conn, err := client.Dial(ctx, addr, protocol.DevCertificate, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	temp := protocol.LabelFromString("example.range")
	if err := conn.Create(ctx, temp); err != nil {
		log.Fatal(err)
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := range 6 { // a point every 30 seconds
		if err := conn.Append(ctx, temp, start+int64(i)*int64(30*time.Second), float64(20+i)); err != nil {
			log.Fatal(err)
		}
	}
	end := start + int64(time.Hour)
	// Raw points, two a page: Range asks for the next page itself.
	for p, err := range conn.Range(ctx, temp, start, end, &client.RangeOptions{PageSize: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(time.Unix(0, p.TS).UTC().Format(time.TimeOnly), p.Value)
	}
	// The average of each minute.
	for p, err := range conn.Range(ctx, temp, start, end, &client.RangeOptions{Agg: client.Avg, Bucket: time.Minute}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(time.Unix(0, p.TS).UTC().Format(time.TimeOnly), "avg", p.Value)
	}
	// Output:
	// 00:00:00 20
	// 00:00:30 21
	// 00:01:00 22
	// 00:01:30 23
	// 00:02:00 24
	// 00:02:30 25
	// 00:00:00 avg 20.5
	// 00:01:00 avg 22.5
	// 00:02:00 avg 24.5
}

// ListSeriesPrefix lists the series whose labels begin with a prefix, in byte order, paging on
// its own; ListSeries lists every label from a start.
func ExampleConn_ListSeriesPrefix() {
	ctx := context.Background()
	conn, err := client.Dial(ctx, addr, protocol.DevCertificate, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	for _, name := range []string{"example.list.mem", "example.list.cpu", "example.lisp"} {
		if err := conn.Create(ctx, protocol.LabelFromString(name)); err != nil {
			log.Fatal(err)
		}
	}
	for l, err := range conn.ListSeriesPrefix(ctx, []byte("example.list.")) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(strings.TrimRight(string(l[:]), "\x00"))
	}
	info, err := conn.SeriesInfo(ctx, protocol.LabelFromString("example.list.cpu"))
	fmt.Printf("%+v %v\n", info, err)
	// Output:
	// example.list.cpu
	// example.list.mem
	// {Points:0 First:0 Last:0} <nil>
}

func ExampleParseLabel() {
	l, err := client.ParseLabel("hex:" + "ff00000000000000000000000000000000000000000000000000000000000001")
	fmt.Println(l[0], l[31], err)
	_, err = client.ParseLabel("a-name-that-is-longer-than-32-bytes")
	fmt.Println(err)
	// Output:
	// 255 1 <nil>
	// label "a-name-that-is-longer-than-32-bytes" is 35 bytes; at most 32 fit (or use hex:<64 hex digits>)
}

// AppendBatch stores many points of one series in one request, atomically: all of them or,
// with an ERR, none.
func ExampleConn_AppendBatch() {
	ctx := context.Background()
	conn, err := client.Dial(ctx, addr, protocol.DevCertificate, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	temp := protocol.LabelFromString("example.appendbatch")
	if err := conn.Create(ctx, temp); err != nil {
		log.Fatal(err)
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	points := make([]client.Point, 1000)
	for i := range points {
		points[i] = client.Point{TS: start.Add(time.Duration(i) * time.Second).UnixNano(), Value: 20 + float64(i%10)/10}
	}
	if err := conn.AppendBatch(ctx, temp, points); err != nil {
		log.Fatal(err)
	}
	// A batch that is not after the series' last point is refused whole.
	err = conn.AppendBatch(ctx, temp, points[998:])
	fmt.Println(errors.Is(err, client.ErrOutOfOrder))

	info, err := conn.SeriesInfo(ctx, temp)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Points, time.Unix(0, info.Last).UTC().Format(time.TimeOnly))
	// Output:
	// true
	// 1000 00:16:39
}

// Lenses are named views of a series through transforms (docs/protocol.md, E5): here the
// Fahrenheit of a Celsius series, and its returns, composed from the two.
func ExampleConn_QueryLens() {
	ctx := context.Background()
	conn, err := client.Dial(ctx, addr, protocol.DevCertificate, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	temp := protocol.LabelFromString("example.temp")
	if err := conn.Create(ctx, temp); err != nil {
		log.Fatal(err)
	}
	for i, c := range []float64{20, 25} {
		if err := conn.Append(ctx, temp, int64(i+1), c); err != nil {
			log.Fatal(err)
		}
	}
	f, r, fr := protocol.LabelFromString("temp.f"), protocol.LabelFromString("temp.r"), protocol.LabelFromString("temp.f.r")
	if err := conn.CreateLens(ctx, f, temp, client.CelsiusToFahrenheit); err != nil {
		log.Fatal(err)
	}
	if err := conn.CreateLens(ctx, r, temp, client.Returns); err != nil {
		log.Fatal(err)
	}
	if err := conn.ComposeLens(ctx, fr, f, r); err != nil { // Fahrenheit, then its returns
		log.Fatal(err)
	}
	for _, l := range []protocol.Label{f, fr} {
		v, found, err := conn.QueryLens(ctx, l, 2)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s at 2: %.4f %v\n", strings.TrimRight(string(l[:]), "\x00"), v, found)
	}
	_, found, err := conn.QueryLens(ctx, fr, 1) // returns need the point before
	fmt.Println("temp.f.r at 1:", found, err)
	// Output:
	// temp.f at 2: 77.0000 true
	// temp.f.r at 2: 0.1324 true
	// temp.f.r at 1: false <nil>
}
