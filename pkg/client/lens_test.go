package client_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/client/clienttest"
	"github.com/taudb/tau/pkg/protocol"
)

// TestLenses runs every lens call against the real server and the fake, which must agree:
// the checks' errors, a composition's value, returns needing the point before, the listing.
func TestLenses(t *testing.T) {
	readTargets(t, func(t *testing.T, c *client.Conn) {
		ctx := context.Background()
		lbl := protocol.LabelFromString
		temp, f, r, fr := lbl("temp"), lbl("f"), lbl("r"), lbl("fr")
		must(t, c.Create(ctx, temp))
		appendAll(t, c, temp, []refPoint{{1, math.Float64bits(10)}, {2, math.Float64bits(25)}})
		must(t, c.CreateLens(ctx, f, temp, client.CelsiusToFahrenheit))
		must(t, c.CreateLens(ctx, r, temp, client.Returns))
		must(t, c.ComposeLens(ctx, fr, f, r))
		checks := []struct {
			name string
			err  error
			want error
		}{
			{"taken", c.CreateLens(ctx, f, temp, client.Identity), client.ErrLensAlreadyExists},
			{"unknown transform", c.CreateLens(ctx, lbl("x"), temp, "kelvin"), client.ErrInvalidPayload},
			{"name too long", c.CreateLens(ctx, lbl("x"), temp, "a_transform_name_of_thirty_three_"), protocol.ErrTransformTooLong},
			{"compose unknown", c.ComposeLens(ctx, lbl("x"), lbl("nope"), f), client.ErrLensNotFound},
			{"drop unknown", c.DropLens(ctx, lbl("nope")), client.ErrLensNotFound},
		}
		for _, k := range checks {
			if !errors.Is(k.err, k.want) {
				t.Errorf("%s: %v, want %v", k.name, k.err, k.want)
			}
		}
		fahrenheit := func(x float64) float64 { return float64(float64(x*9)/5) + 32 }
		if v, found, err := c.QueryLens(ctx, fr, 2); err != nil || !found || v != float64(fahrenheit(25)/fahrenheit(10))-1 {
			t.Fatalf("fr at 2: %v %v %v", v, found, err)
		}
		if _, found, err := c.QueryLens(ctx, r, 1); err != nil || found {
			t.Fatalf("returns at the first point: found %v, %v", found, err)
		}
		if bits, found, err := c.QueryLensBits(ctx, f, 1); err != nil || !found || bits != math.Float64bits(50) {
			t.Fatalf("f at 1: %#x %v %v", bits, found, err)
		}
		if _, _, err := c.QueryLens(ctx, lbl("nope"), 1); !errors.Is(err, client.ErrLensNotFound) {
			t.Fatalf("unknown lens: %v", err)
		}
		must(t, c.DropLens(ctx, f))
		labels, err := c.ListLenses(ctx, nil)
		if err != nil || !slices.Equal(labels, []protocol.Label{fr, r}) {
			t.Fatalf("ListLenses = %v, %v", labels, err)
		}
	})
}

// TestLensesUnsupported: a server without lenses (1.3.0) answers bad_opcode, which every lens
// call reports as ErrUnsupported.
func TestLensesUnsupported(t *testing.T) {
	c := dial(t, clienttest.StartWith(t, nil, clienttest.Options{V1Only: true}).Addr, nil)
	ctx := context.Background()
	l := protocol.LabelFromString("l")
	_, _, qerr := c.QueryLens(ctx, l, 0)
	_, lerr := c.ListLenses(ctx, nil)
	for _, err := range []error{c.CreateLens(ctx, l, l, client.Identity), c.DropLens(ctx, l), c.ComposeLens(ctx, l, l, l), qerr, lerr} {
		if !errors.Is(err, client.ErrUnsupported) || !errors.Is(err, client.ErrBadOpcode) {
			t.Errorf("%v does not match ErrUnsupported", err)
		}
	}
}

// TestLensCapacityOfTheFake: the fake keeps a capacity, as the server does.
func TestLensCapacityOfTheFake(t *testing.T) {
	c := dial(t, clienttest.StartWith(t, nil, clienttest.Options{LensCapacity: 1}).Addr, nil)
	ctx := context.Background()
	must(t, c.CreateLens(ctx, protocol.LabelFromString("a"), protocol.Label{}, client.Identity))
	if err := c.CreateLens(ctx, protocol.LabelFromString("b"), protocol.Label{}, client.Identity); !errors.Is(err, client.ErrInternalError) {
		t.Fatalf("beyond the capacity: %v", err)
	}
}
