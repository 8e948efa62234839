package management

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
)

// requestIDs makes the x-amzn-RequestId of each answer: a version-4-shaped UUID
// ("8f1c2a90-5b0e-4c1d-9a7e-0123456789ab", the form AWS's request ids take) from 16 random bytes
// drawn once per process with a per-request counter added to the last 8. Ids are unique per
// process and as good as random across processes; they are not secrets, so no random read per
// request (uuid.NewString cost a crypto/rand call and two allocations on every push).
type requestIDs struct {
	base [16]byte
	n    atomic.Uint64
}

func newRequestIDs() *requestIDs {
	g := &requestIDs{}
	_, _ = rand.Read(g.base[:]) // crypto/rand.Read never fails on supported platforms
	return g
}

// next returns a new id (one allocation: the string).
func (g *requestIDs) next() string {
	u := g.base
	binary.BigEndian.PutUint64(u[8:], binary.BigEndian.Uint64(u[8:])+g.n.Add(1))
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
