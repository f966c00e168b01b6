// Package lens keeps the lenses of docs/protocol.md (E5): named, read-only views of a series
// through a chain of transforms. It is engine-level: it knows series labels, not the wire.
//
//   - transform.go: the transforms by name, each a float64 function evaluated exactly as the
//     contract writes it (left to right, no fused multiply-add);
//   - chain.go: a lens' chain of transforms and its evaluation over the source's points, every
//     step mapping the whole sequence, so k `returns` steps need k+1 points;
//   - registry.go: the lenses by label, with the contract's checks in its order, a capacity,
//     and lock-free reads of an immutable snapshot;
//   - store.go, format.go: their durable state, one small file rewritten whole on every
//     change (docs/storage-format.md, "Lenses"), apart from the series' log and checkpoints.
package lens
