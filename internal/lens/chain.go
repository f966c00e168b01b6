package lens

// MaxChain is the most steps a lens' chain may hold. COMPOSE_LENS concatenates chains, so
// composing a lens with itself doubles its chain: without a bound a few dozen requests would
// build a chain no memory holds (R12). A longer composition is refused like a full capacity
// (ErrChainTooLong, internal_error). It also bounds a QUERY_LENS' work: at most MaxChain+1
// points read and MaxChain steps over them.
const MaxChain = 256

// Chain is a lens' transforms, applied in order. A chain is never changed once built: lenses
// made by COMPOSE_LENS get chains of their own, so dropping a lens never changes another.
type Chain []Transform

// Lookback is how many points before the queried one the chain needs: one per returns or
// log_return step.
func (c Chain) Lookback() int {
	k := 0
	for _, t := range c {
		if t.Pairwise() {
			k++
		}
	}
	return k
}

// Eval applies the chain to xs, the source's values oldest first, the queried point last: it
// must hold at least Lookback()+1 of them, and reads only the last Lookback()+1. Each step maps the whole sequence (docs/protocol.md,
// E5): a one-point transform maps every value, so steps before a returns apply to the
// previous points too; a returns or log_return step maps each value but the first with the
// one before it, and the sequence loses its first value. One value is left: the answer. xs
// is overwritten.
func (c Chain) Eval(xs []float64) float64 {
	xs = xs[len(xs)-c.Lookback()-1:]
	for _, t := range c {
		if !t.Pairwise() {
			if t != Identity {
				for i, x := range xs {
					xs[i] = t.point(x)
				}
			}
			continue
		}
		// From the newest back, so xs[i-1] is still the previous step's value.
		for i := len(xs) - 1; i > 0; i-- {
			xs[i] = t.pair(xs[i], xs[i-1])
		}
		xs = xs[1:]
	}
	return xs[0]
}
