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
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(Input).Key
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
	},
	Init: func() any { return 0 },
	Step: func(state, input, output any) (bool, any) {
		in := input.(Input)
		if in.Write {
			return true, in.Value
		}
		return output.(Output).Value == state.(int), state
	},
}

// History is a concurrent-safe record of operations.
type History struct {
	mu    sync.Mutex
	start time.Time
	ops   []porcupine.Operation
}

// New starts an empty history.
func New() *History { return &History{start: time.Now()} }

// Call marks an operation's invocation; give its result to one of the returned Op's methods.
func (h *History) Call(client int, in Input) *Op {
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
	if !o.op.Input.(Input).Write {
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
