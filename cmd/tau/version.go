package main

import (
	"fmt"

	"github.com/taudb/tau/internal/version"
)

// version prints the CLI's own build (internal/version); it needs no server.
func (c *command) version(args []string) error {
	if len(args) > 0 {
		return usagef("version takes no arguments")
	}
	_, err := fmt.Fprintln(c.stdout, "tau "+version.Get().String())
	return err
}
