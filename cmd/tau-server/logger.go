package main

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/taudb/tau/internal/config"
)

// newLogger builds the JSON logger (or the console one for humans) at TAU_LOG_LEVEL.
func newLogger(cfg config.Config) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	zc := zap.NewProductionConfig()
	if cfg.LogFormat == "console" {
		zc = zap.NewDevelopmentConfig()
		zc.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.Sampling = nil // bad input is logged once per event at debug; never drop a line silently
	zc.DisableStacktrace = true
	return zc.Build()
}
