package lincheck

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

func TestCheckerTellsLinearizableFromNot(t *testing.T) {
	ok := New()
	w := ok.Call(0, Input{Write: true, Key: "a", Value: 1})
	w.Ok(Output{})
	ok.Call(1, Input{Key: "a"}).Ok(Output{Value: 1})
	pending := ok.Call(2, Input{Write: true, Key: "a", Value: 2})
	pending.Unknown()
	ok.Call(1, Input{Key: "a"}).Ok(Output{Value: 2}) // the pending write took effect
	if got := ok.Check(time.Minute); got != porcupine.Ok {
		t.Fatalf("a linearizable history checked %v", got)
	}

	stale := New()
	stale.Call(0, Input{Write: true, Key: "a", Value: 1}).Ok(Output{})
	stale.Call(0, Input{Write: true, Key: "a", Value: 2}).Ok(Output{})
	stale.Call(1, Input{Key: "a"}).Ok(Output{Value: 1}) // after the write of 2 returned
	if got := stale.Check(time.Minute); got != porcupine.Illegal {
		t.Fatalf("a stale read checked %v", got)
	}

	lost := New()
	lost.Call(0, Input{Write: true, Key: "b", Value: 7}).Ok(Output{})
	lost.Call(1, Input{Key: "b"}).Ok(Output{Value: 0}) // an acknowledged write gone
	if got := lost.Check(time.Minute); got != porcupine.Illegal {
		t.Fatalf("a lost write checked %v", got)
	}
}
