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

func TestSeriesModel(t *testing.T) {
	in := func(ts int64) SeriesInput { return SeriesInput{Series: "s", Append: true, TS: ts} }
	read := SeriesInput{Series: "s"}

	ok := New()
	ok.Call(0, in(5)).OkSeries(SeriesOutput{})
	ok.Call(1, in(4)).OkSeries(SeriesOutput{OutOfOrder: true})
	ok.Call(0, in(9)).SeriesOpUnknown() // never stored: fine
	ok.Call(1, read).OkSeries(SeriesOutput{Last: 5})
	if got := ok.CheckWith(SeriesModel, time.Minute); got != porcupine.Ok {
		t.Fatalf("a linearizable history checked %v", got)
	}

	// The history: 574 in flight at the kill, 570 refused because of it, 574 gone.
	lost := New()
	lost.Call(0, in(574)).SeriesOpUnknown()
	lost.Call(1, in(570)).OkSeries(SeriesOutput{OutOfOrder: true})
	lost.Call(1, read).OkSeries(SeriesOutput{Last: 0})
	if got := lost.CheckWith(SeriesModel, time.Minute); got != porcupine.Illegal {
		t.Fatalf("a refusal resting on a lost point checked %v", got)
	}
}
