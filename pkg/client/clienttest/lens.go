package clienttest

import (
	"math"

	"github.com/taudb/tau/internal/lens"
	tseries "github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/server/status"
	"github.com/taudb/tau/pkg/protocol"
)

// lens answers the lens family (E5) as the server does: the registry's checks in E5's order,
// its errors through the server's status table, and QUERY_LENS as QUERY_POINT over the
// source's point and the ones before it the chain needs. Called with s.mu held.
func (s *Server) lens(dst []byte, op protocol.Opcode, p []byte) []byte {
	var err error
	switch op {
	case protocol.OpCreateLens:
		l, source, transform := protocol.CreateLensRequest(p)
		err = s.lenses.Create(tseries.Label(l), tseries.Label(source), transform)
	case protocol.OpDropLens:
		err = s.lenses.Drop(tseries.Label(protocol.SeriesRequest(p)))
	case protocol.OpComposeLens:
		l, first, second := protocol.ComposeLensRequest(p)
		err = s.lenses.Compose(tseries.Label(l), tseries.Label(first), tseries.Label(second))
	case protocol.OpQueryLens:
		return s.queryLens(dst, p)
	case protocol.OpListLenses:
		labels := s.lenses.List(nil)
		dst = protocol.AppendLensListHeader(dst, len(labels))
		for _, l := range labels {
			dst = append(dst, l[:]...)
		}
		return dst
	}
	if err != nil {
		return protocol.AppendErr(dst, status.Of(err))
	}
	return protocol.AppendFrame(dst, protocol.OpOK, nil)
}

func (s *Server) queryLens(dst []byte, p []byte) []byte {
	l, ts := protocol.QueryRequest(p)
	ln, ok := s.lenses.Get(tseries.Label(l))
	if !ok {
		return protocol.AppendErr(dst, status.Of(lens.ErrNotFound))
	}
	sr := s.series[protocol.Label(ln.Source)]
	if sr == nil {
		return protocol.AppendErr(dst, protocol.StatusSeriesNotFound)
	}
	k := ln.Chain.Lookback()
	pts, found := sr.points.Lookback(ts, k, nil)
	if !found || len(pts) != k+1 {
		return protocol.AppendQueryAnswer(dst, false, 0)
	}
	xs := make([]float64, len(pts))
	for i, pt := range pts {
		xs[i] = math.Float64frombits(pt.Value)
	}
	return protocol.AppendQueryAnswer(dst, true, math.Float64bits(ln.Chain.Eval(xs)))
}
