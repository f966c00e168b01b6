package protocol

import (
	"bufio"
	"errors"
	"io"
)

// MaxRequestPayload is the largest fixed payload any request opcode uses (CREATE_LENS's and
// COMPOSE_LENS's 96 bytes); longer payloads are never buffered here, only discarded, so a
// connection's memory does not grow with what a client claims. APPEND_BATCH, whose payload
// varies, is read in parts with ReadFull into buffers the caller bounds.
const MaxRequestPayload = CreateLensPayloadSize

// ErrPayloadTooLarge is returned for a header whose length exceeds the reader's limit (R2).
var ErrPayloadTooLarge = errors.New("protocol: payload too large")

// Reader decodes request frames from a buffered stream.
type Reader struct {
	r       *bufio.Reader
	max     uint32
	hdr     [HeaderSize]byte
	payload [MaxRequestPayload]byte
}

// NewReader reads frames from r, refusing payloads longer than maxPayload.
func NewReader(r *bufio.Reader, maxPayload uint32) *Reader {
	return &Reader{r: r, max: maxPayload}
}

// ReadHeader reads and checks one header (magic, version, length limit: R0, R2). On
// ErrPayloadTooLarge the returned header is valid and the payload has not been read.
func (r *Reader) ReadHeader() (Header, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		return Header{}, err
	}
	h, err := DecodeHeader(&r.hdr)
	if err != nil {
		return h, err
	}
	if h.Length > r.max {
		return h, ErrPayloadTooLarge
	}
	return h, nil
}

// ReadPayload reads a payload of at most MaxRequestPayload bytes. The slice is valid until the
// next call.
func (r *Reader) ReadPayload(h Header) ([]byte, error) {
	if h.Length > MaxRequestPayload {
		return nil, errors.New("protocol: payload too long to buffer; discard it")
	}
	p := r.payload[:h.Length]
	_, err := io.ReadFull(r.r, p)
	return p, err
}

// ReadFull reads len(p) bytes of the payload being read into p: for a payload read in parts
// (APPEND_BATCH), into buffers the caller owns and bounds.
func (r *Reader) ReadFull(p []byte) error {
	_, err := io.ReadFull(r.r, p)
	return err
}

// DiscardN skips n bytes of the payload being read: the rest of a payload refused part way.
func (r *Reader) DiscardN(n int) error {
	_, err := r.r.Discard(n)
	return err
}

// Discard skips a payload the server ignores (R3, R4).
func (r *Reader) Discard(h Header) error {
	_, err := r.r.Discard(int(h.Length))
	return err
}

// Buffered reports how many bytes are already read from the socket and not yet decoded.
func (r *Reader) Buffered() int { return r.r.Buffered() }

// NextFrameBuffered reports whether the next frame can be decoded without reading the socket:
// its header and whole payload are buffered, or its header alone already fails the checks.
// The server holds back a pipelined batch's answers while this is true, so they go out in one
// write.
func (r *Reader) NextFrameBuffered() bool {
	n := r.r.Buffered()
	if n < HeaderSize {
		return false
	}
	b, _ := r.r.Peek(HeaderSize)
	h, err := DecodeHeader((*[HeaderSize]byte)(b))
	return err != nil || h.Length > r.max || uint64(n) >= HeaderSize+uint64(h.Length)
}
