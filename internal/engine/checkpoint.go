package engine

import (
	"time"

	"go.uber.org/zap"
)

// Checkpoint policy: the log, and with it restart time and disk use, stays bounded, and so do
// the full chunks held in memory until a checkpoint moves them to a chunk file. A store that
// reports its log size is checkpointed once the log passes checkpointLogBytes or the series
// hold more than checkpointFullChunks full chunks in memory (at least this many, or 8 a
// series), and in any case every checkpointEvery if anything was logged. The chunk bound also
// empties memory soon after a start from an older release's checkpoint, which held every chunk.
const (
	checkpointCheck      = 5 * time.Second
	checkpointEvery      = 5 * time.Minute
	checkpointLogBytes   = 128 << 20
	checkpointFullChunks = 1 << 16
)

// logSizer is implemented by stores that know their log's size.
type logSizer interface{ LogBytes() int64 }

// CheckpointOptions replace the policy above (tests).
type CheckpointOptions struct {
	Check    time.Duration // how often the policy is looked at
	Every    time.Duration // the longest time between checkpoints when anything was logged
	LogBytes int64         // the log size that makes a checkpoint due
	// FullChunks is the number of full chunks in memory that makes a checkpoint due (at
	// least, or 8 a series).
	FullChunks int64
}

func (o CheckpointOptions) withDefaults() CheckpointOptions {
	if o.Check <= 0 {
		o.Check = checkpointCheck
	}
	if o.Every <= 0 {
		o.Every = checkpointEvery
	}
	if o.LogBytes <= 0 {
		o.LogBytes = checkpointLogBytes
	}
	if o.FullChunks <= 0 {
		o.FullChunks = checkpointFullChunks
	}
	return o
}

// RunCheckpoints checkpoints by the policy, from recovery until stop is closed. It returns only
// once no checkpoint it started is running, so its run.Group interrupt can wait for it.
func (e *Engine) RunCheckpoints(stop <-chan struct{}, o CheckpointOptions) error {
	o = o.withDefaults()
	select {
	case <-e.recovered:
	case <-stop:
		return nil
	}
	t := time.NewTicker(o.Check)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-stop:
			return nil
		case <-t.C:
			if !e.checkpointDue(last, o) {
				continue
			}
			last = time.Now()
			if err := e.Checkpoint(); err != nil {
				continue // counted and logged by Checkpoint; due again at the next check
			}
			e.log.Debug("checkpoint written", zap.Int("series", e.Len()), zap.Duration("took", time.Since(last)))
		}
	}
}

func (e *Engine) checkpointDue(last time.Time, o CheckpointOptions) bool {
	ls, ok := e.store.(logSizer)
	if !ok {
		return time.Since(last) >= o.Every
	}
	size := ls.LogBytes()
	return size >= o.LogBytes || e.fullChunksInMemory() > max(o.FullChunks, 8*int64(e.Len())) ||
		(size > 0 && time.Since(last) >= o.Every)
}

// fullChunksInMemory counts the chunks held in memory that are not a series' open one.
func (e *Engine) fullChunksInMemory() int64 {
	h := e.catalog.Pool().Head()
	return h.Chunks.Load() - h.Series.Load()
}
