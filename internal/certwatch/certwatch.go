// Package certwatch reloads the certificate file when a mounted Kubernetes Secret rotates.
// The file holds one certificate or several, one a line (README.md, "Configuration"): a
// rotation adds the new one as a second line, then removes the old one.
//
// Kubelet rotates a Secret volume by swapping its "..data" symlink; internal/filewatch follows
// that, and the watcher re-reads the file on each of its calls.
package certwatch

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/filewatch"
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
	return filewatch.Run(ctx, w.log, w.poll, []string{w.path}, w.reload)
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
