package transport

import (
	"fmt"

	"google.golang.org/grpc/mem"
)

// encoded is a frame already encoded (a queued message): the codec sends its bytes as they are.
type encoded []byte

// codec is the gRPC codec of the peer service: it moves frames, encoded by frame.appendTo, and
// nothing else. gRPC's default codec wants generated protobuf types; ours are written by hand
// (frame.go), so the service forces this one on both ends.
type codec struct{}

// codecName goes into the content type (application/grpc+tau-peer-v1).
const codecName = "tau-peer-v1"

func (codec) Name() string { return codecName }

func (codec) Marshal(v any) (mem.BufferSlice, error) {
	switch f := v.(type) {
	case encoded:
		return mem.BufferSlice{mem.SliceBuffer(f)}, nil
	case *frame:
		return mem.BufferSlice{mem.SliceBuffer(f.appendTo(nil))}, nil
	default:
		return nil, fmt.Errorf("peer codec: cannot marshal %T", v)
	}
}

func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	f, ok := v.(*frame)
	if !ok {
		return fmt.Errorf("peer codec: cannot unmarshal into %T", v)
	}
	// Materialize copies: gRPC frees data when Unmarshal returns, and the frame's byte fields
	// alias what it decodes.
	return f.decode(data.Materialize())
}
