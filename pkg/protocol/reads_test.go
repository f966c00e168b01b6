package protocol

import (
	"math"
	"slices"
	"testing"
)

func TestQueryRangeRoundTrip(t *testing.T) {
	q := QueryRange{Label: LabelFromString("cpu"), Start: math.MinInt64, End: -1, Limit: 70000,
		Aggregation: AggMax, Bucket: math.MaxInt64}
	p := EncodeQueryRange(nil, &q)
	if len(p) != QueryRangePayloadSize {
		t.Fatalf("payload %d bytes, want %d", len(p), QueryRangePayloadSize)
	}
	if got := QueryRangeRequest(p); got != q {
		t.Fatalf("round trip: got %+v, want %+v", got, q)
	}
	l, limit := ListSeriesRequest(EncodeListSeries(nil, q.Label, 7))
	if l != q.Label || limit != 7 || len(EncodeListSeries(nil, l, 7)) != ListSeriesPayloadSize {
		t.Fatal("LIST_SERIES round trip")
	}
}

func TestQueryRangeValid(t *testing.T) {
	cases := []struct {
		name   string
		agg    Aggregation
		bucket int64
		want   bool
	}{
		{"raw with bucket 0", AggRaw, 0, true},
		{"raw with a bucket", AggRaw, 10, false},
		{"raw with a negative bucket", AggRaw, -1, false},
		{"avg with bucket 1", AggAvg, 1, true},
		{"last with the largest bucket", AggLast, math.MaxInt64, true},
		{"sum with bucket 0", AggSum, 0, false},
		{"count with a negative bucket", AggCount, -5, false},
		{"min with the smallest bucket", AggMin, math.MinInt64, false},
		{"aggregation 8", 8, 10, false},
		{"aggregation 255", 255, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := QueryRange{Aggregation: c.agg, Bucket: c.bucket, Start: 5, End: 1} // end <= start is still valid
			if q.Valid() != c.want {
				t.Fatalf("Valid() = %v, want %v", !c.want, c.want)
			}
		})
	}
}

func TestPageLimits(t *testing.T) {
	cases := []struct {
		limit      uint32
		list, rnge int
	}{
		{0, 4096, 65536}, {1, 1, 1}, {4096, 4096, 4096}, {4097, 4096, 4097},
		{65536, 4096, 65536}, {65537, 4096, 65536}, {math.MaxUint32, 4096, 65536},
	}
	for _, c := range cases {
		if got := ListLimit(c.limit); got != c.list {
			t.Errorf("ListLimit(%d) = %d, want %d", c.limit, got, c.list)
		}
		if got := RangeLimit(c.limit); got != c.rnge {
			t.Errorf("RangeLimit(%d) = %d, want %d", c.limit, got, c.rnge)
		}
	}
}

func TestLabelSuccessor(t *testing.T) {
	ones := func() (l Label) {
		for i := range l {
			l[i] = 0xFF
		}
		return l
	}
	carry := Label{0: 0x12}
	for i := 1; i < LabelSize; i++ {
		carry[i] = 0xFF
	}
	cases := []struct {
		name string
		in   Label
		want Label
		ok   bool
	}{
		{"zero", Label{}, Label{31: 1}, true},
		{"last byte", Label{31: 0x41}, Label{31: 0x42}, true},
		{"carry through 0xFF bytes", carry, Label{0: 0x13}, true},
		{"text label", LabelFromString("cpu"), func() Label { l := LabelFromString("cpu"); l[31] = 1; return l }(), true},
		{"all 0xFF has none", ones(), Label{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := c.in.Successor()
			if ok != c.ok || got != c.want {
				t.Fatalf("Successor() = %x, %v; want %x, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestPageAnswersRoundTrip(t *testing.T) {
	pts := []RangePoint{{math.MinInt64, 0x7FF8DEADBEEF0001}, {-1, 1 << 63}, {math.MaxInt64 - 1, math.Float64bits(math.Inf(-1))}}
	frame := AppendRangeHeader(nil, true, len(pts))
	for _, p := range pts {
		frame = AppendRangePoint(frame, p.TS, p.Bits)
	}
	if h, err := DecodeHeader((*[HeaderSize]byte)(frame)); err != nil || h.Opcode != OpOK || int(h.Length) != len(frame)-HeaderSize {
		t.Fatalf("range header %+v %v", h, err)
	}
	more, got, err := DecodeRangeAnswer(frame[HeaderSize:], nil)
	if err != nil || !more || !slices.Equal(got, pts) {
		t.Fatalf("range answer: %v %v %v", more, got, err)
	}

	labels := []Label{{}, LabelFromString("a"), {0: 0xFF, 31: 0xFF}}
	frame = AppendListHeader(nil, false, len(labels))
	for _, l := range labels {
		frame = append(frame, l[:]...)
	}
	more, gotL, err := DecodeListAnswer(frame[HeaderSize:], nil)
	if err != nil || more || !slices.Equal(gotL, labels) {
		t.Fatalf("list answer: %v %v %v", more, gotL, err)
	}

	info := AppendSeriesInfoAnswer(nil, 3, math.MinInt64, -7)
	n, first, last, err := DecodeSeriesInfoAnswer(info[HeaderSize:])
	if err != nil || n != 3 || first != math.MinInt64 || last != -7 || len(info) != HeaderSize+SeriesInfoAnswerSize {
		t.Fatalf("info answer: %d %d %d %v", n, first, last, err)
	}
}

func TestPageAnswersMalformed(t *testing.T) {
	cases := map[string][]byte{
		"empty":           {},
		"short header":    {0, 0, 0, 0},
		"more flag 2":     {2, 0, 0, 0, 0},
		"count too large": {0, 0, 0, 0, 1},
		"trailing bytes":  append([]byte{0, 0, 0, 0, 0}, make([]byte, 16)...),
	}
	for name, p := range cases {
		if _, _, err := DecodeRangeAnswer(p, nil); err == nil {
			t.Errorf("%s: range answer accepted", name)
		}
		if _, _, err := DecodeListAnswer(p, nil); err == nil {
			t.Errorf("%s: list answer accepted", name)
		}
	}
	if _, _, _, err := DecodeSeriesInfoAnswer(make([]byte, 23)); err == nil {
		t.Error("23-byte SERIES_INFO answer accepted")
	}
}

func TestAggregationNames(t *testing.T) {
	if AggRaw.String() != "raw" || AggLast.String() != "last" || Aggregation(8).String() != "unknown" {
		t.Fatal("aggregation names")
	}
	if OpQueryRange.String() != "QUERY_RANGE" || OpListSeries.String() != "LIST_SERIES" || OpSeriesInfo.String() != "SERIES_INFO" {
		t.Fatal("extension opcode names")
	}
}
