package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/pkg/config"
	"github.com/taudb/tau/pkg/storage"
)

// openStore opens the on-disk store in TAU_DATA_DIR with the configured fsync policy.
func openStore(cfg config.Config, log *zap.Logger, reg prometheus.Registerer) (storage.Store, error) {
	policy, err := storage.ParseFsyncPolicy(cfg.Fsync)
	if err != nil {
		return nil, err
	}
	return storage.OpenDisk(cfg.DataDir, storage.DiskOptions{
		Fsync:      policy,
		Interval:   cfg.FsyncInterval,
		Logger:     log, // storage names its own logger
		Registerer: reg,
	})
}
