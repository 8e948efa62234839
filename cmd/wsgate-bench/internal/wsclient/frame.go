package wsclient

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// WebSocket opcodes the client handles.
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// maxFramePayload bounds what the parser accepts from a server; a bigger length is a protocol
// error (the scenarios only ever receive small messages).
const maxFramePayload = 16 << 20

var errMaskedServerFrame = errors.New("server frame is masked (RFC 6455 5.1: servers must not mask)")

// appendClientFrame appends one final client frame carrying payload to dst. Clients must mask
// (RFC 6455 5.3); the mask key is zero, which servers accept and which leaves the payload as it
// is, so building a frame costs one copy.
func appendClientFrame(dst []byte, op byte, payload []byte) []byte {
	n := len(payload)
	dst = append(dst, 0x80|op)
	switch {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, 0, 0, 0, 0) // mask key
	return append(dst, payload...)
}

// parseFrames calls fn for every complete frame at the start of buf and returns how many bytes
// it consumed; the rest is an incomplete frame to be completed by the next read. fin reports
// the FIN bit. An error means the stream is not a valid server-to-client stream.
func parseFrames(buf []byte, fn func(op byte, fin bool, payload []byte)) (int, error) {
	used := 0
	for {
		b := buf[used:]
		if len(b) < 2 {
			return used, nil
		}
		fin, op := b[0]&0x80 != 0, b[0]&0x0F
		if b[0]&0x70 != 0 {
			return used, fmt.Errorf("frame has reserved bits 0x%02x set (no extension was negotiated)", b[0]&0x70)
		}
		if b[1]&0x80 != 0 {
			return used, errMaskedServerFrame
		}
		n, hdr := uint64(b[1]&0x7F), 2
		switch n {
		case 126:
			if len(b) < 4 {
				return used, nil
			}
			n, hdr = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return used, nil
			}
			n, hdr = binary.BigEndian.Uint64(b[2:]), 10
		}
		if n > maxFramePayload {
			return used, fmt.Errorf("frame payload of %d bytes is over the %d-byte limit", n, maxFramePayload)
		}
		if op >= opClose && (n > 125 || !fin) {
			return used, fmt.Errorf("control frame 0x%x is fragmented or longer than 125 bytes", op)
		}
		if uint64(len(b)-hdr) < n {
			return used, nil
		}
		fn(op, fin, b[hdr:hdr+int(n)])
		used += hdr + int(n)
	}
}

// WriteText writes payload as one masked text frame on a connection outside the pool (the
// churn scenario's, before it closes it).
func WriteText(w io.Writer, payload []byte) error {
	_, err := w.Write(appendClientFrame(nil, opText, payload))
	return err
}

// ReadText reads frames from r (after early, the bytes the handshake read past the 101) until
// a complete text or binary message arrives, and returns its payload; a close frame is an
// error carrying its code and reason. It is for connections outside the pool, read blocking.
func ReadText(r io.Reader, early []byte) ([]byte, error) {
	buf := append([]byte(nil), early...)
	tmp := make([]byte, 4096)
	for {
		var msg []byte
		var closeErr error
		used, err := parseFrames(buf, func(op byte, fin bool, payload []byte) {
			switch {
			case msg != nil || closeErr != nil:
			case op == opText || op == opBinary:
				msg = append([]byte(nil), payload...)
			case op == opClose:
				closeErr = closeError(payload)
			}
		})
		if err != nil {
			return nil, err
		}
		if closeErr != nil {
			return nil, closeErr
		}
		if msg != nil {
			return msg, nil
		}
		buf = buf[used:]
		n, err := r.Read(tmp)
		if n > 0 {
			buf = append(buf, tmp[:n]...)
		}
		if err != nil {
			return nil, err
		}
	}
}

// closeError describes a close frame's payload: its status code and reason.
func closeError(payload []byte) error {
	if len(payload) < 2 {
		return errors.New("connection closed by the server (no status)")
	}
	return fmt.Errorf("connection closed by the server: %d %q", binary.BigEndian.Uint16(payload), payload[2:])
}
