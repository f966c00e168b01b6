package storage

import (
	"github.com/taudb/tau/internal/storage/chunkenc"
	"github.com/taudb/tau/internal/storage/chunkfile"
)

// The read cache. A checkpoint moves a series' full chunks to a chunk file, but the points just
// written are the ones read most, and a lookup in a chunk file costs about twice one in memory:
// the chunk's checksum is verified and, with no skip point on disk, it is decoded from its
// start (BenchmarkLookup). So the series keeps the chunks a checkpoint wrote, for lookups, in
// the span that now names them: the same bytes, shared, with their skip points. A chunk file
// stays the truth: every other read (ranges, Info) goes to it, and a restart starts with an
// empty cache.
//
// The cache is bounded in bytes, which the Go heap then holds about twice of between
// collections: a series keeps its newest cached chunks up to its share of HeadStats' budget
// (an even share of it), and at every checkpoint drops the rest, oldest first. A span a
// compaction rewrites starts uncached.

// DefaultCacheBytes is the read cache's budget when HeadStats.CacheBudget is 0: at 1,000
// series, about 8 KiB of chunks each, which for a regular series scraped every 10 s is most of
// a day (hack/storage-scale.sh's gauge data: 1.06 bytes a point). The Go heap holds up to about
// twice the cache between collections, so it costs up to 16 MiB of RSS.
const DefaultCacheBytes = 8 << 20

// chunkOverhead is what a cached chunk costs besides its bytes.
const chunkOverhead = chunkenc.HeaderBytes

// cacheShare is how many bytes of cached chunks one series may keep now.
func (h *HeadStats) cacheShare() int {
	if h == nil {
		return DefaultCacheBytes
	}
	budget := h.CacheBudget.Load()
	switch {
	case budget < 0:
		return 0
	case budget == 0:
		budget = DefaultCacheBytes
	}
	return int(budget / max(h.Series.Load(), 1))
}

// installCache gives the spans a committed checkpoint named (s.spans, replacing old) their
// cached chunks: a span named before keeps its own, and the run this checkpoint wrote gets the
// chunks it flushed from memory, which are exactly the newest of flushed (older ones may have
// expired unwritten). Then the series trims its cache to its share.
func (s *Series) installCache(old []span, flushed *chunkenc.Series) {
	j := 0
	for i := range s.spans {
		sp := &s.spans[i]
		for j < len(old) && old[j].ref.MaxT < sp.ref.MinT { // both are oldest first
			j++
		}
		if j < len(old) && old[j].ref == sp.ref {
			sp.cached = old[j].cached
		}
	}
	if k := len(s.spans); k > 0 && flushed != nil && !named(old, s.spans[k-1].ref) {
		sp := &s.spans[k-1]
		if c := flushed.Tail(int(sp.ref.Chunks)); holds(c, sp.ref) {
			sp.cached = c
		}
	}
	s.trimCache(s.stats.cacheShare())
}

// named reports whether ref is one of spans'.
func named(spans []span, ref chunkfile.Ref) bool {
	for i := len(spans) - 1; i >= 0; i-- {
		if spans[i].ref == ref {
			return true
		}
	}
	return false
}

// holds checks that c is the run ref names, chunk for chunk, before it stands in for it.
func holds(c *chunkenc.Series, ref chunkfile.Ref) bool {
	first, ok := c.FirstTimestamp()
	last, _ := c.LastTimestamp()
	return ok && c.Chunks() == int(ref.Chunks) && uint64(c.Len()) == ref.Points &&
		first == ref.MinT && last == ref.MaxT
}

// trimCache keeps the newest cached chunks across the spans, up to share bytes, and drops
// the rest: once the budget cuts into a span, every older span loses its cache.
func (s *Series) trimCache(share int) {
	used, cut := 0, false
	for i := len(s.spans) - 1; i >= 0; i-- {
		sp := &s.spans[i]
		if sp.cached == nil {
			continue
		}
		if !cut {
			sp.cached = sp.cached.Newest(share-used, chunkOverhead)
		} else {
			sp.cached = nil
		}
		if sp.cached == nil || sp.cached.Chunks() < int(sp.ref.Chunks) {
			cut = true
		}
		if sp.cached != nil {
			used += sp.cached.Size() + sp.cached.Chunks()*chunkOverhead
		}
	}
	s.accountCached(used)
}

// lookupCached finds ts in span i's cached chunks; ok is false when they do not cover ts.
func (s *Series) lookupCached(i int, ts int64) (bits uint64, found, ok bool) {
	c := s.spans[i].cached
	if c == nil {
		return 0, false, false
	}
	if first, _ := c.FirstTimestamp(); ts < first {
		return 0, false, false
	}
	bits, found = c.Lookup(ts)
	return bits, found, true
}
