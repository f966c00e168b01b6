package storage

import (
	"slices"

	"github.com/taudb/tau/internal/storage/chunkenc"
	"github.com/taudb/tau/internal/storage/chunkfile"
)

// The read cache. A checkpoint moves a series' full chunks to a chunk file, but the points just
// written are the ones read most, and a lookup in a chunk file costs about twice one in memory:
// the chunk's checksum is verified and, with no skip point on disk, it is decoded from its
// start (BenchmarkLookup). So the series keeps the chunks a checkpoint wrote in the span that
// now names them, the same bytes, shared, with their skip points, and reads them there: point
// lookups, and ranges (RangeIter), which then skip the checksum and the page cache. The file
// is written all the same. After a restart, a series fills its cache from its files on its
// first read of one (warmCache).
//
// The cache is bounded in bytes, which the Go heap then holds about twice of between
// collections: a series keeps its newest cached chunks up to its share of HeadStats' budget
// (an even share of it), and at every checkpoint drops the rest, oldest first. A run that a
// compaction writes from cached runs keeps their chunks.

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
// cached chunks: a span named before keeps its own; the run this checkpoint wrote gets the
// chunks it flushed from memory, which are exactly the newest of flushed (older ones may have
// expired unwritten); and a run a compaction merged from old runs (or rewrote without their
// expired chunks) gets theirs (mergedCache). Then the series trims its cache to its share.
func (s *Series) installCache(old []span, flushed *chunkenc.Series) {
	s.cold = false
	last := len(s.spans) - 1
	for i := range s.spans {
		sp := &s.spans[i]
		if o := spanNamed(old, sp.ref); o != nil {
			sp.cached = o.cached
			continue
		}
		if i == last && flushed != nil {
			if c := flushed.Tail(int(sp.ref.Chunks)); holds(c, sp.ref) {
				sp.cached = c
				continue
			}
		}
		sp.cached = mergedCache(old, sp.ref)
	}
	s.trimCache(s.stats.cacheShare())
}

// warmCache gives a series recovered from disk the read cache a checkpoint would have left it:
// the newest chunks of its runs, up to its share, read from the files on its first read of
// one. Without it, a restart would leave every series' cache empty until its next checkpoint.
// The chunks are copied out of the mapping (a compaction may unmap it while the cache lives
// on) and decoded whole once; a damaged one ends the warm-up there, and reads of it fail as
// they would have.
func (s *Series) warmCache() {
	s.cold = false
	share, used := s.stats.cacheShare(), 0
	for i := len(s.spans) - 1; i >= 0; i-- {
		sp := &s.spans[i]
		c := newestOf(sp.run, share-used)
		if c == nil {
			break
		}
		sp.cached = c
		used += c.Size() + c.Chunks()*chunkOverhead
		if c.Chunks() < sp.run.Chunks() {
			break
		}
	}
	s.accountCached(used)
}

// newestOf reads the newest chunks of run whose bytes, each counted with chunkOverhead more,
// add up to at most budget, into a read-only series of copies; nil when not even the newest
// fits, or one of them is damaged.
func newestOf(run chunkfile.Run, budget int) *chunkenc.Series {
	var chunks []chunkenc.Chunk
	size := 0
	for k := run.Chunks() - 1; k >= 0; k-- {
		b, n, err := run.Chunk(k)
		if err != nil || size+len(b)+chunkOverhead > budget {
			break
		}
		size += len(b) + chunkOverhead
		chunks = append(chunks, chunkenc.Chunk{Data: b, N: n})
	}
	if len(chunks) == 0 {
		return nil
	}
	slices.Reverse(chunks)
	buf := make([]byte, 0, size)
	for i := range chunks {
		start := len(buf)
		buf = append(buf, chunks[i].Data...)
		chunks[i].Data = buf[start:len(buf):len(buf)]
	}
	c, err := chunkenc.ReadOnly(chunks)
	if err != nil {
		return nil
	}
	return c
}

// spanNamed is the span of spans that names ref, nil if none.
func spanNamed(spans []span, ref chunkfile.Ref) *span {
	for i := len(spans) - 1; i >= 0; i-- {
		if spans[i].ref == ref {
			return &spans[i]
		}
	}
	return nil
}

// mergedCache is the cache of a run that a compaction wrote from old runs, which are the old
// spans within its time range (a series' spans never overlap): their cached chunks, oldest
// first, when together they are the newest chunks of the new run. Compaction copies chunks as
// they are, leaving out expired ones, so that holds whenever the newest old run is cached and
// every old run after the oldest one cached is cached whole.
func mergedCache(old []span, ref chunkfile.Ref) *chunkenc.Series {
	var parts []*chunkenc.Series
	for i := len(old) - 1; i >= 0; i-- {
		o := &old[i]
		if o.ref.MinT > ref.MaxT {
			continue
		}
		if o.ref.MaxT < ref.MinT || o.cached == nil {
			break
		}
		parts = append(parts, o.cached)
		if o.cached.Chunks() < int(o.ref.Chunks) { // the cache starts inside this run
			break
		}
	}
	slices.Reverse(parts)
	c := chunkenc.Concat(parts, ref.MinT)
	if c == nil || c.Chunks() > int(ref.Chunks) {
		return nil
	}
	if last, _ := c.LastTimestamp(); last != ref.MaxT || (c.Chunks() == int(ref.Chunks) && !holds(c, ref)) {
		return nil
	}
	return c
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
