// Command tau-server is the Tau time-series database server. Configuration comes only from
// TAU_* environment variables (README.md, "Configuration"); `tau-server --help` lists them.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/dirlock"
	"github.com/taudb/tau/internal/member"
	"github.com/taudb/tau/internal/memlimit"
	"github.com/taudb/tau/internal/server"
	"github.com/taudb/tau/internal/version"
)

// Exit codes: 2 for a configuration error (README.md, "Configuration"), a data directory
// another process holds included; 1 for a failure while running.
const (
	exitFailure = 1
	exitConfig  = 2
)

func main() { os.Exit(runMain(os.Args[1:])) }

func runMain(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "--help", "help":
			fmt.Println("tau-server takes no flags; it is configured by these environment variables:")
			_ = config.Usage(os.Stdout)
			return 0
		case "-version", "--version", "version":
			fmt.Println("tau-server " + version.Get().String())
			return 0
		}
		fmt.Fprintf(os.Stderr, "tau-server: unexpected argument %q; configuration is by TAU_* environment variables (see --help)\n", args[0])
		return exitConfig
	}
	cfg, err := config.Load()
	if err == nil {
		_, err = cfg.LoadCertificates() // an unreadable or invalid certificate file is a config error too
	}
	if err == nil {
		err = cfg.CheckTLS() // so is a bad TLS pair or client CA bundle
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tau-server: "+err.Error()+unknownHint(os.Environ()))
		return exitConfig
	}
	logger, err := newLogger(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tau-server: "+err.Error())
		return exitConfig
	}
	defer func() { _ = logger.Sync() }()
	return serve(cfg, logger)
}

func serve(cfg config.Config, logger *zap.Logger) int {
	v := version.Get()
	logger.Info("starting tau-server", zap.String("version", v.Version), zap.String("revision", v.Revision),
		zap.Any("config", cfg.Effective()))
	warnUnknownVariables(logger, os.Environ())
	if cfg.UsesDevCertificate() {
		logger.Warn("using the development certificate: set TAU_CERTIFICATE_FILE before exposing this server")
	}
	memlimit.Apply(logger)
	// Signals are caught from here on, before any listener is bound: run.SignalHandler would
	// only subscribe once the group runs, so a SIGTERM arriving as the server becomes ready
	// could still kill the process the default way, without a clean stop.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	reg := prometheus.NewRegistry()
	var opts server.Options
	if cfg.ClusterMode() {
		m, err := member.Open(cfg, logger, reg)
		if err != nil {
			return startFailed(logger, err)
		}
		opts.Cluster = m
	}
	srv, err := server.New(cfg, logger, reg, opts)
	if err != nil {
		return startFailed(logger, err)
	}
	var g run.Group
	g.Add(signalActor(sigs))
	srv.AddTo(&g)
	err = g.Run()
	var sig run.SignalError
	var refused *member.ConfigError
	if err != nil && !errors.As(err, &sig) {
		logger.Error("stopped on error", zap.Error(err))
		if errors.As(err, &refused) {
			return exitConfig // settings the cluster does not share: the operator's to fix
		}
		return exitFailure
	}
	logger.Info("stopped")
	return 0
}

// startFailed logs why the server could not start and picks the exit code.
func startFailed(logger *zap.Logger, err error) int {
	logger.Error("cannot start", zap.Error(err))
	var held *dirlock.HeldError
	var refused *member.ConfigError
	if errors.As(err, &held) || errors.As(err, &refused) {
		return exitConfig // the operator's to fix: two servers were given one directory, …
	}
	return exitFailure
}

// warnUnknownVariables names each TAU_* variable the server does not read (a typo passes
// silently otherwise), with the known one it is closest to; never its value.
func warnUnknownVariables(logger *zap.Logger, environ []string) {
	for _, u := range config.UnknownVariables(environ) {
		logger.Warn("unknown TAU_* variable ignored", zap.String("variable", u.Name), zap.String("nearest_known", u.Nearest))
	}
}

// unknownHint ends a configuration error's line with the unknown TAU_* variables, since a typo
// is often its cause (TAU_CERTIFICATE_FIEL leaves the certificate unset): "" when there are
// none. The error stays one line.
func unknownHint(environ []string) string {
	var parts []string
	for _, u := range config.UnknownVariables(environ) {
		parts = append(parts, u.Name+" (nearest known: "+u.Nearest+")")
	}
	if len(parts) == 0 {
		return ""
	}
	return "; unknown variables, ignored: " + strings.Join(parts, ", ")
}

// signalActor ends the group with run.SignalError on the first signal on sigs, as
// run.SignalHandler does, but on a channel subscribed before the group runs.
func signalActor(sigs <-chan os.Signal) (execute func() error, interrupt func(error)) {
	stop := make(chan struct{})
	return func() error {
			select {
			case sig := <-sigs:
				return run.SignalError{Signal: sig}
			case <-stop:
				return nil
			}
		}, func(error) {
			close(stop)
		}
}
