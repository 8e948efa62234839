package event

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
)

// NewID returns an id in AWS's connection/request id format: 11 random bytes in URL-safe base64,
// 16 characters ending in one "=" (e.g. "Dwz4leekPHcCG6Q="). Clients size columns on it, and
// the trailing "=" is what exercises path escaping in @connections.
func NewID() string {
	var s [16]byte
	PutID(&s)
	return string(s[:]) // one allocation (EncodeToString takes two)
}

// PutID writes a new id, as NewID returns, into s: for a caller that stores it with other
// bytes in one allocation.
func PutID(s *[16]byte) {
	var b [11]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	base64.URLEncoding.Encode(s[:], b[:])
}

// ValidID reports whether s has the shape NewID produces. Used to answer 410 early for ids
// that cannot exist, without a store lookup.
func ValidID(s string) bool {
	if len(s) != 16 || s[15] != '=' {
		return false
	}
	for i := 0; i < 15; i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func marshalAny(v any) ([]byte, error) { return json.Marshal(v) }
