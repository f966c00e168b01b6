// Package lincheck records histories of operations on registers (one per key) and checks them
// for linearizability with porcupine, for the cluster's and the single node's tests (C2,
// R11). Operations whose outcome is unknown (a write answered internal_error, a client cut
// off) are recorded as pending: they may or may not have taken effect, at any time after
// they were called.
package lincheck

import (
	"math"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Input is one operation: a write of Value to Key, or a read of Key.
type Input struct {
	Write bool
	Key   string
	Value int
}

// Output is a read's answer (0 for a key never written); a write's output is ignored.
type Output struct{ Value int }

// Model is a register per key, each checked on its own (porcupine's partitioning).
var Model = porcupine.Model{
	Partition: partitionBy(func(in any) string { return in.(Input).Key }),
	Init:      func() any { return 0 },
	Step: func(state, input, output any) (bool, any) {
		in := input.(Input)
		if in.Write {
			return true, in.Value
		}
		return output.(Output).Value == state.(int), state
	},
}

// partitionBy splits a history by the key of each operation's input, keeping the keys in
// the order they first appear: each key's operations are checked on their own.
func partitionBy(key func(input any) string) func([]porcupine.Operation) [][]porcupine.Operation {
	return func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := key(op.Input)
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	}
}

// History is a concurrent-safe record of operations.
type History struct {
	mu    sync.Mutex
	start time.Time
	ops   []porcupine.Operation
}

// New starts an empty history.
func New() *History { return &History{start: time.Now()} }

// Call marks an operation's invocation (an Input, or a SeriesInput for SeriesModel); give its
// result to one of the returned Op's methods.
func (h *History) Call(client int, in any) *Op {
	return &Op{h: h, op: porcupine.Operation{ClientId: client, Input: in, Call: h.now()}}
}

func (h *History) now() int64 { return int64(time.Since(h.start)) }

// Op is one operation in flight.
type Op struct {
	h  *History
	op porcupine.Operation
}

// Ok records that the operation took effect with output out (a read's value).
func (o *Op) Ok(out Output) {
	o.op.Output, o.op.Return = out, o.h.now()
	o.h.add(o.op)
}

// Unknown records an operation that may have taken effect, or may still: a write whose
// answer said nothing certain. Reads with no answer are dropped instead (Failed).
func (o *Op) Unknown() {
	if in, ok := o.op.Input.(Input); !ok || !in.Write {
		return
	}
	o.op.Output, o.op.Return = Output{}, math.MaxInt64
	o.h.add(o.op)
}

// Failed records nothing: the operation certainly had no effect.
func (o *Op) Failed() {}

func (h *History) add(op porcupine.Operation) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// Len is the number of operations recorded.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ops)
}

// Check reports whether the history is linearizable; Unknown is what porcupine says when it
// could not decide within timeout.
func (h *History) Check(timeout time.Duration) porcupine.CheckResult {
	h.mu.Lock()
	ops := append([]porcupine.Operation(nil), h.ops...)
	h.mu.Unlock()
	return porcupine.CheckOperationsTimeout(Model, ops, timeout)
}

// SeriesInput is one operation on a series: an append at TS, or a read of its last timestamp.
type SeriesInput struct {
	Series string
	Append bool
	TS     int64
}

// SeriesOutput is an append's outcome (OutOfOrder: refused because a point at or after TS was
// there) or a read's answer (Last: the newest timestamp, 0 for none).
type SeriesOutput struct {
	OutOfOrder bool
	Last       int64
	Unknown    bool // an append cut off by a crash: stored or not
}

// SeriesModel is a TAU series as APPEND (R7) and SERIES_INFO (E2) see it: the state is the
// newest timestamp; an append after it is stored, one at or before it is out_of_order.
var SeriesModel = porcupine.Model{
	Partition: partitionBy(func(in any) string { return in.(SeriesInput).Series }),
	Init:      func() any { return seriesState{} },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(seriesState), input.(SeriesInput), output.(SeriesOutput)
		if !in.Append {
			return out.Last == st.last, st // 0 with no points, as SERIES_INFO answers
		}
		after := !st.any || in.TS > st.last
		if out.Unknown { // stored if it could be; a never stored one is linearized last
			if after {
				return true, seriesState{any: true, last: in.TS}
			}
			return true, st
		}
		if after {
			return !out.OutOfOrder, seriesState{any: true, last: in.TS}
		}
		return out.OutOfOrder, st
	},
}

// seriesState is a series' newest timestamp, once it has a point.
type seriesState struct {
	any  bool
	last int64
}

// SeriesOpUnknown records an append whose outcome is unknown (the server died before it
// answered): it may have been stored, at any time after it was called, or never.
func (o *Op) SeriesOpUnknown() {
	o.op.Output, o.op.Return = SeriesOutput{Unknown: true}, math.MaxInt64
	o.h.add(o.op)
}

// CheckWith checks the history against m.
func (h *History) CheckWith(m porcupine.Model, timeout time.Duration) porcupine.CheckResult {
	h.mu.Lock()
	ops := append([]porcupine.Operation(nil), h.ops...)
	h.mu.Unlock()
	return porcupine.CheckOperationsTimeout(m, ops, timeout)
}

// OkSeries records an operation on a series that was answered with out.
func (o *Op) OkSeries(out SeriesOutput) {
	o.op.Output, o.op.Return = out, o.h.now()
	o.h.add(o.op)
}

// Ops is a copy of the operations recorded so far.
func (h *History) Ops() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Operation(nil), h.ops...)
}
