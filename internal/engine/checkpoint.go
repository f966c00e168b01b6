package engine

import (
	"time"

	"go.uber.org/zap"
)

// Checkpoint policy: the log, and with it restart time and disk use, stays bounded. A store
// that reports its log size is checkpointed once the log passes checkpointLogBytes, and in any
// case every checkpointEvery if anything was logged.
const (
	checkpointCheck    = 5 * time.Second
	checkpointEvery    = 5 * time.Minute
	checkpointLogBytes = 128 << 20
)

// logSizer is implemented by stores that know their log's size.
type logSizer interface{ LogBytes() int64 }

// CheckpointOptions replace the policy above (tests).
type CheckpointOptions struct {
	Check    time.Duration // how often the policy is looked at
	Every    time.Duration // the longest time between checkpoints when anything was logged
	LogBytes int64         // the log size that makes a checkpoint due
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
				e.log.Warn("checkpoint failed", zap.Error(err))
				continue
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
	return size >= o.LogBytes || (size > 0 && time.Since(last) >= o.Every)
}
