// Command tau-server is the Tau time-series database server. Configuration comes only from
// TAU_* environment variables (README.md, "Configuration"); `tau-server --help` lists them.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/memlimit"
	"github.com/taudb/tau/internal/server"
)

// Exit codes: 2 for a configuration error (README.md, "Configuration"), 1 for a failure while
// running.
const (
	exitFailure = 1
	exitConfig  = 2
)

func main() { os.Exit(runMain(os.Args[1:])) }

func runMain(args []string) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Println("tau-server takes no flags; it is configured by these environment variables:")
			_ = config.Usage(os.Stdout)
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
		fmt.Fprintln(os.Stderr, "tau-server: "+err.Error())
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
	logger.Info("starting tau-server", zap.Any("config", cfg.Effective()))
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
	srv, err := server.New(cfg, logger, reg, server.Options{})
	if err != nil {
		logger.Error("cannot start", zap.Error(err))
		return exitFailure
	}
	var g run.Group
	g.Add(signalActor(sigs))
	srv.AddTo(&g)
	err = g.Run()
	var sig run.SignalError
	if err != nil && !errors.As(err, &sig) {
		logger.Error("stopped on error", zap.Error(err))
		return exitFailure
	}
	logger.Info("stopped")
	return 0
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
