package main

import (
	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/pkg/server"
)

// addCertificateWatcher reloads TAU_CERTIFICATE_FILE when the mounted Secret rotates.
func addCertificateWatcher(g *run.Group, path string, srv *server.Server, logger *zap.Logger, reg prometheus.Registerer) {
	_, _, _, _, _ = g, path, srv, logger, reg // the watcher lands with the Kubernetes issue
}
