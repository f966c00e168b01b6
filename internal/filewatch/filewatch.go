// Package filewatch calls a function when files that a mounted Kubernetes Secret holds may
// have changed.
//
// Kubelet rotates a Secret volume by writing a new timestamped directory and swapping the
// "..data" symlink, so a file's own path never sees a write: the watcher watches the
// directories holding the files and calls back on any event there, and polls as a fallback
// for filesystems without inotify. The callback decides whether anything really changed.
package filewatch

import (
	"context"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// Run calls changed on every event in the directories of paths and every poll, until ctx ends.
// Without inotify it still polls.
func Run(ctx context.Context, log *zap.Logger, poll time.Duration, paths []string, changed func()) error {
	events, errs, closeWatch := watchDirs(log, poll, paths)
	defer closeWatch()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-events:
			changed()
		case err := <-errs:
			log.Warn("watching the directory of a watched file", zap.Error(err))
		case <-tick.C:
			changed()
		}
	}
}

func watchDirs(log *zap.Logger, poll time.Duration, paths []string) (<-chan fsnotify.Event, <-chan error, func()) {
	var dirs []string
	for _, p := range paths {
		if d := filepath.Dir(p); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	fw, err := fsnotify.NewWatcher()
	for _, d := range dirs {
		if err == nil {
			err = fw.Add(d)
		}
	}
	if err != nil {
		log.Warn("cannot watch the directory of a watched file; polling only", zap.Error(err),
			zap.Strings("directories", dirs), zap.Duration("every", poll))
		if fw != nil {
			_ = fw.Close()
		}
		return nil, nil, func() {}
	}
	return fw.Events, fw.Errors, func() { _ = fw.Close() }
}
