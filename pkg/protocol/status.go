package protocol

import "fmt"

// Status is the one-byte payload of an ERR frame.
type Status byte

// Status codes; 0x01–0x0B are the original server's numbers, 0x0C and 0x0D those of its later
// lens release (E5), 0x0E is this project's.
const (
	StatusBadMagic            Status = 0x01
	StatusBadVersion          Status = 0x02
	StatusBadOpcode           Status = 0x03
	StatusPayloadTooLarge     Status = 0x04
	StatusNotAuthenticated    Status = 0x05
	StatusAuthFailed          Status = 0x06
	StatusSeriesNotFound      Status = 0x07
	StatusSeriesAlreadyExists Status = 0x08
	StatusInvalidPayload      Status = 0x09
	StatusInternalError       Status = 0x0A
	StatusOutOfOrder          Status = 0x0B
	StatusLensNotFound        Status = 0x0C
	StatusLensAlreadyExists   Status = 0x0D
	StatusBusy                Status = 0x0E
)

var statusNames = map[Status]string{
	StatusBadMagic:            "bad_magic",
	StatusBadVersion:          "bad_version",
	StatusBadOpcode:           "bad_opcode",
	StatusPayloadTooLarge:     "payload_too_large",
	StatusNotAuthenticated:    "not_authenticated",
	StatusAuthFailed:          "auth_failed",
	StatusSeriesNotFound:      "series_not_found",
	StatusSeriesAlreadyExists: "series_already_exists",
	StatusInvalidPayload:      "invalid_payload",
	StatusInternalError:       "internal_error",
	StatusOutOfOrder:          "out_of_order",
	StatusLensNotFound:        "lens_not_found",
	StatusLensAlreadyExists:   "lens_already_exists",
	StatusBusy:                "busy",
}

// String is the status name used in docs/protocol.md ("Status codes"), logs and metric labels.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("status_0x%02x", byte(s))
}

// ClosesConnection reports whether the server closes the connection after answering with s.
// Busy closes only for the connection limit and shutdown, which the caller decides.
func (s Status) ClosesConnection() bool {
	switch s {
	case StatusBadMagic, StatusBadVersion, StatusPayloadTooLarge, StatusNotAuthenticated, StatusAuthFailed:
		return true
	}
	return false
}
