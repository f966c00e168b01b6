// Package certwatch reloads the certificate file when a mounted Kubernetes Secret rotates.
// The file holds one certificate or several, one a line (README.md, "Configuration"): a
// rotation adds the new one as a second line, then removes the old one.
//
// Kubelet rotates a Secret volume by writing a new timestamped directory and swapping the
// "..data" symlink, so the file's own path never sees a write: the watcher watches the
// directory and re-reads the file on any event there, and polls as a fallback for filesystems
// without inotify.
package certwatch

import (
	"context"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
)

// DefaultPoll is how often the file is re-read even without an event.
const DefaultPoll = 30 * time.Second

// Watcher keeps a Keeper's certificates equal to a file's valid content.
type Watcher struct {
	path    string
	keeper  *auth.Keeper
	log     *zap.Logger
	poll    time.Duration
	reloads *prometheus.CounterVec

	lastRejection string // a rotation fires several events: report each bad state once
}

// New watches path for keeper.
func New(path string, keeper *auth.Keeper, log *zap.Logger, reg prometheus.Registerer, poll time.Duration) *Watcher {
	w := &Watcher{path: path, keeper: keeper, log: log.Named("certwatch"), poll: poll,
		reloads: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "tau_auth_certificate_reloads_total",
			Help: "Certificate file changes seen, by result: loaded, or rejected (unreadable or invalid; the old certificates stay).",
		}, []string{"result"})}
	w.reloads.WithLabelValues("loaded")
	w.reloads.WithLabelValues("rejected")
	return w
}

// Run watches until ctx ends. Without inotify it still polls.
func (w *Watcher) Run(ctx context.Context) error {
	events, errs, closeWatch := w.watchDir()
	defer closeWatch()
	tick := time.NewTicker(w.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-events:
			w.reload()
		case err := <-errs:
			w.log.Warn("watching the certificate directory", zap.Error(err))
		case <-tick.C:
			w.reload()
		}
	}
}

func (w *Watcher) watchDir() (<-chan fsnotify.Event, <-chan error, func()) {
	fw, err := fsnotify.NewWatcher()
	if err == nil {
		err = fw.Add(filepath.Dir(w.path))
	}
	if err != nil {
		w.log.Warn("cannot watch the certificate directory; polling only", zap.Error(err), zap.Duration("every", w.poll))
		if fw != nil {
			_ = fw.Close()
		}
		return nil, nil, func() {}
	}
	return fw.Events, fw.Errors, func() { _ = fw.Close() }
}

// reload installs the file's certificates if they are valid and differ from the current set
// (in content or order: positions are what tau_auth_connects_total counts by); otherwise the
// current set stays. Errors and logs name lines and fingerprints, never a certificate.
func (w *Watcher) reload() {
	certs, err := config.ReadCertificateFile(w.path)
	if err == nil && w.keeper.Holds(certs) {
		w.lastRejection = ""
		return
	}
	if err == nil {
		err = w.keeper.Set(certs...) // ReadCertificateFile checked the set already
	}
	if err != nil {
		if err.Error() == w.lastRejection {
			return
		}
		w.lastRejection = err.Error()
		w.reloads.WithLabelValues("rejected").Inc()
		w.log.Warn("certificate file change rejected; keeping the current certificates",
			zap.Error(err), zap.Strings("fingerprints", w.keeper.Fingerprints()))
		return
	}
	w.lastRejection = ""
	w.reloads.WithLabelValues("loaded").Inc()
	w.log.Info("certificates reloaded", zap.Int("certificates", w.keeper.Len()),
		zap.Strings("fingerprints", w.keeper.Fingerprints()))
}
