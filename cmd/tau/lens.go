package main

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/protocol"
)

// The lens commands (docs/protocol.md, E5): tau lens create|drop|query|compose|list. Lenses
// are named views of a series through transforms, in a namespace apart from the series'
// labels. A server without them (1.3.0) answers bad_opcode, which report prints as "the server
// does not support …".

const lensUsage = `Usage: tau lens SUBCOMMAND [flags] [ARGS]

Subcommands:
  create LENS SOURCE TRANSFORM   make lens LENS: series SOURCE (need not exist yet) through
                                 TRANSFORM: identity, celsius_to_fahrenheit,
                                 fahrenheit_to_celsius, celsius_to_kelvin, kelvin_to_celsius,
                                 meters_to_feet, feet_to_meters, returns or log_return
  compose NEW FIRST SECOND       make lens NEW: FIRST's source through FIRST's transforms,
                                 then SECOND's (a copy: dropping FIRST or SECOND keeps it)
  query LENS TS                  print the lens' value at exactly TS, or (not found); --bits
  drop LENS                      remove a lens
  list                           print every lens label, one a line, ascending byte-wise

returns and log_return read the series' point before TS too; a chain with k of them needs the
k points before TS. Labels and timestamps are written as for the other commands (tau help).
`

// lens dispatches tau lens SUBCOMMAND.
func (c *command) lens(args []string) error {
	if len(args) == 0 {
		return usagef("lens wants a subcommand: create, compose, query, drop or list")
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create":
		return c.lensCreate(rest)
	case "compose":
		return c.lensCompose(rest)
	case "query":
		return c.lensQuery(rest)
	case "drop":
		return c.lensDrop(rest)
	case "list":
		return c.lensList(rest)
	case "help", "-h", "--help", "-help":
		_, _ = fmt.Fprint(c.stdout, lensUsage)
		return errHelpShown
	}
	return usagef("unknown lens subcommand %q: want create, compose, query, drop or list", sub)
}

func (c *command) lensCreate(args []string) error {
	pos, err := c.parse(c.flags("lens create", "LENS SOURCE TRANSFORM"), args, 3)
	if err != nil {
		return err
	}
	l, err := parseLabel(pos[0])
	if err != nil {
		return err
	}
	source, err := parseLabel(pos[1])
	if err != nil {
		return err
	}
	if !slices.Contains(protocol.Transforms, pos[2]) {
		return usagef("transform %q: want one of %s", pos[2], strings.Join(protocol.Transforms, ", "))
	}
	return c.lensChange(func(ctx context.Context, conn *client.Conn) error {
		return conn.CreateLens(ctx, l, source, pos[2])
	})
}

func (c *command) lensCompose(args []string) error {
	pos, err := c.parse(c.flags("lens compose", "NEW FIRST SECOND"), args, 3)
	if err != nil {
		return err
	}
	var labels [3]protocol.Label
	for i, s := range pos {
		if labels[i], err = parseLabel(s); err != nil {
			return err
		}
	}
	return c.lensChange(func(ctx context.Context, conn *client.Conn) error {
		return conn.ComposeLens(ctx, labels[0], labels[1], labels[2])
	})
}

func (c *command) lensDrop(args []string) error {
	pos, err := c.parse(c.flags("lens drop", "LENS"), args, 1)
	if err != nil {
		return err
	}
	l, err := parseLabel(pos[0])
	if err != nil {
		return err
	}
	return c.lensChange(func(ctx context.Context, conn *client.Conn) error { return conn.DropLens(ctx, l) })
}

// lensChange connects, runs a lens change and prints OK.
func (c *command) lensChange(op func(context.Context, *client.Conn) error) error {
	ctx, conn, done, err := c.dial()
	if err != nil {
		return err
	}
	defer done()
	if err := op(ctx, conn); err != nil {
		return err
	}
	_, _ = fmt.Fprintln(c.stdout, "OK")
	return nil
}

func (c *command) lensQuery(args []string) error {
	return c.pointQuery("lens query", "LENS TS", args, (*client.Conn).QueryLensBits)
}

func (c *command) lensList(args []string) error {
	if _, err := c.parse(c.flags("lens list", ""), args, 0); err != nil {
		return err
	}
	ctx, conn, done, err := c.dial()
	if err != nil {
		return err
	}
	defer done()
	labels, err := conn.ListLenses(ctx, nil)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(c.stdout)
	for _, l := range labels {
		_, _ = fmt.Fprintln(bw, formatLabel(l))
	}
	return bw.Flush()
}
