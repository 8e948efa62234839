package redisbus

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/wsgate/wsgate/internal/bus"
)

// Messages are encoded in a small binary form rather than JSON: BenchmarkCodec measures both,
// and binary is several times faster with far fewer allocations, mostly because JSON
// base64-encodes Data (a 1 KB frame becomes 1.4 KB and is scanned twice).
//
//	byte     version (1)
//	byte     kind
//	varint   code
//	uvarint  len(connID), connID
//	uvarint  len(text), text
//	...      data, to the end
//
// text is the close reason of a Close and the group of a Joined or Left (no kind has both), so
// that the wire form is the one version 1 always had and nodes of either build mix.
const codecVersion = 1

// appendMessage appends m's encoding to dst.
func appendMessage(dst []byte, m bus.Message) []byte {
	dst = append(dst, codecVersion, byte(m.Kind))
	dst = binary.AppendVarint(dst, int64(m.Code))
	dst = binary.AppendUvarint(dst, uint64(len(m.ConnID)))
	dst = append(dst, m.ConnID...)
	text := m.Reason
	if m.Kind == bus.Joined || m.Kind == bus.Left {
		text = m.Group
	}
	dst = binary.AppendUvarint(dst, uint64(len(text)))
	dst = append(dst, text...)
	return append(dst, m.Data...)
}

var errShort = errors.New("truncated")

// decodeMessage parses one encoded message. Data is a copy: b may be reused.
func decodeMessage(b []byte) (bus.Message, error) {
	var m bus.Message
	if len(b) < 2 {
		return m, fmt.Errorf("redisbus: decode message: %w", errShort)
	}
	if b[0] != codecVersion {
		return m, fmt.Errorf("redisbus: decode message: version %d, this node reads %d (upgrade every node)", b[0], codecVersion)
	}
	m.Kind = bus.Kind(b[1])
	if m.Kind < bus.Send || m.Kind > bus.Left {
		return m, fmt.Errorf("redisbus: decode message: unknown kind %d", b[1])
	}
	b = b[2:]
	code, n := binary.Varint(b)
	if n <= 0 || code != int64(int32(code)) {
		return m, fmt.Errorf("redisbus: decode message: bad close code")
	}
	m.Code, b = int(code), b[n:]
	var err error
	if m.ConnID, b, err = readString(b); err != nil {
		return m, fmt.Errorf("redisbus: decode message: connection id: %w", err)
	}
	var text string
	if text, b, err = readString(b); err != nil {
		return m, fmt.Errorf("redisbus: decode message: reason or group: %w", err)
	}
	if m.Kind == bus.Joined || m.Kind == bus.Left {
		m.Group = text
	} else {
		m.Reason = text
	}
	if len(b) > 0 {
		m.Data = append([]byte(nil), b...)
	}
	return m, nil
}

func readString(b []byte) (string, []byte, error) {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return "", nil, errShort
	}
	end := n + int(l)
	return string(b[n:end]), b[end:], nil
}
