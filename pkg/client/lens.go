package client

import (
	"context"
	"fmt"
	"math"

	"github.com/taudb/tau/pkg/protocol"
)

// Lenses (docs/protocol.md, E5): named, read-only views of a series through a chain of
// transforms, in a namespace of their own. A server that answers these durably keeps them
// across restarts; one without lenses (the original 1.3.0) answers bad_opcode, which matches
// ErrUnsupported.

// Transforms a lens may apply (CreateLens), as E5 names them.
const (
	Identity            = protocol.TransformIdentity            // x
	CelsiusToFahrenheit = protocol.TransformCelsiusToFahrenheit // (x×9)/5+32
	FahrenheitToCelsius = protocol.TransformFahrenheitToCelsius // ((x−32)×5)/9
	CelsiusToKelvin     = protocol.TransformCelsiusToKelvin     // x+273.15
	KelvinToCelsius     = protocol.TransformKelvinToCelsius     // x−273.15
	MetersToFeet        = protocol.TransformMetersToFeet        // x×3.28084
	FeetToMeters        = protocol.TransformFeetToMeters        // x/3.28084
	Returns             = protocol.TransformReturns             // x/x_prev − 1
	LogReturn           = protocol.TransformLogReturn           // ln(x/x_prev)
)

// maxLensList is the longest LIST_LENSES answer the client reads: 1,048,576 labels (the
// server's TAU_LENS_CAPACITY allows no more), 32 MiB.
const maxLensList = 1 << 20 * protocol.LabelSize

// CreateLens makes lens l, a view of series source through transform (one of the constants
// above). The source need not exist yet. Errors: ErrInvalidPayload for a name the server does
// not know, ErrInternalError when its lens capacity is reached, ErrLensAlreadyExists.
func (c *Conn) CreateLens(ctx context.Context, l, source protocol.Label, transform string) error {
	r := request{op: protocol.OpCreateLens, key: l, key2: source}
	if len(transform) > protocol.TransformNameSize {
		return fmt.Errorf("%w: %q", protocol.ErrTransformTooLong, transform)
	}
	copy(r.key3[:], transform)
	return c.do(ctx, r)
}

// DropLens removes lens l (ErrLensNotFound when there is none). Lenses composed from it stay.
func (c *Conn) DropLens(ctx context.Context, l protocol.Label) error {
	return c.do(ctx, request{op: protocol.OpDropLens, key: l})
}

// ComposeLens makes lens l: first's source read through first's transforms, then second's.
// It is a copy: dropping first or second later leaves it. Errors: ErrLensNotFound (first is
// checked before second), ErrInternalError when the lens capacity is reached,
// ErrLensAlreadyExists.
func (c *Conn) ComposeLens(ctx context.Context, l, first, second protocol.Label) error {
	return c.do(ctx, request{op: protocol.OpComposeLens, key: l, key2: first, key3: second})
}

// QueryLens reads lens l at exactly ts: the source's point there through the lens' chain.
// found is false when the source has no point at ts, or too few before it for the chain's
// returns. ErrLensNotFound, or, for the source, ErrSeriesNotFound.
func (c *Conn) QueryLens(ctx context.Context, l protocol.Label, ts int64) (v float64, found bool, err error) {
	bits, found, err := c.QueryLensBits(ctx, l, ts)
	return math.Float64frombits(bits), found, err
}

// QueryLensBits is QueryLens returning the value's IEEE-754 bits.
func (c *Conn) QueryLensBits(ctx context.Context, l protocol.Label, ts int64) (bits uint64, found bool, err error) {
	res := c.roundTrip(ctx, request{op: protocol.OpQueryLens, key: l, ts: ts})
	return res.bits, res.found, res.error(protocol.OpQueryLens)
}

// ListLenses appends every lens label to dst, in ascending byte order (the server's order;
// the original server used its own, so do not rely on it against another server).
func (c *Conn) ListLenses(ctx context.Context, dst []protocol.Label) ([]protocol.Label, error) {
	res := c.roundTrip(ctx, request{op: protocol.OpListLenses})
	if err := res.error(protocol.OpListLenses); err != nil {
		return dst, err
	}
	labels, err := protocol.DecodeLensList(res.page, dst)
	if err != nil {
		return dst, fmt.Errorf("%w: %w", ErrUnexpectedAnswer, err)
	}
	return labels, nil
}

// CreateLens is Conn.CreateLens on one of the pool's connections.
func (p *Pool) CreateLens(ctx context.Context, l, source protocol.Label, transform string) error {
	c, err := p.Get(ctx)
	if err != nil {
		return err
	}
	return c.CreateLens(ctx, l, source, transform)
}

// DropLens is Conn.DropLens on one of the pool's connections.
func (p *Pool) DropLens(ctx context.Context, l protocol.Label) error {
	c, err := p.Get(ctx)
	if err != nil {
		return err
	}
	return c.DropLens(ctx, l)
}

// ComposeLens is Conn.ComposeLens on one of the pool's connections.
func (p *Pool) ComposeLens(ctx context.Context, l, first, second protocol.Label) error {
	c, err := p.Get(ctx)
	if err != nil {
		return err
	}
	return c.ComposeLens(ctx, l, first, second)
}

// QueryLens is Conn.QueryLens on one of the pool's connections.
func (p *Pool) QueryLens(ctx context.Context, l protocol.Label, ts int64) (float64, bool, error) {
	c, err := p.Get(ctx)
	if err != nil {
		return 0, false, err
	}
	return c.QueryLens(ctx, l, ts)
}

// ListLenses is Conn.ListLenses on one of the pool's connections.
func (p *Pool) ListLenses(ctx context.Context, dst []protocol.Label) ([]protocol.Label, error) {
	c, err := p.Get(ctx)
	if err != nil {
		return dst, err
	}
	return c.ListLenses(ctx, dst)
}
