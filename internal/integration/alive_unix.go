//go:build unix

package integration

import (
	"net"
	"syscall"
)

// peeker looks at an idle kept-alive connection without blocking or consuming.
type peeker struct {
	rc   syscall.RawConn // nil: the connection has no descriptor to peek at
	fn   func(fd uintptr) bool
	open bool
	b    [1]byte
}

func newPeeker(nc net.Conn) *peeker {
	p := &peeker{}
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			p.rc = rc
		}
	}
	p.fn = func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), p.b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read: still open. End of file, a reset or bytes nobody asked for: not.
		p.open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true // never wait for readiness
	}
	return p
}

// stillOpen is false when the backend closed the connection (end of file), reset it, or sent
// bytes nobody asked for.
func (p *peeker) stillOpen() bool {
	if p.rc == nil {
		return true
	}
	p.open = false
	return p.rc.Read(p.fn) == nil && p.open
}
