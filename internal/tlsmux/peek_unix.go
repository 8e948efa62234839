//go:build unix

package tlsmux

import (
	"io"
	"net"
	"syscall"
)

// peekFirst waits (within c's read deadline) for c's first byte and returns it without
// consuming it, so c itself is handed on unchanged. Connections that are not sockets (a
// wrapper from another listener) fall back to reading the byte (readFirst).
func peekFirst(c net.Conn) (byte, net.Conn, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return readFirst(c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return readFirst(c)
	}
	var b [1]byte
	var n int
	var rerr error
	// RawConn.Read calls the func until it returns true, waiting on the runtime's poller (and
	// so on the read deadline) in between.
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, _, rerr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
			if rerr != syscall.EINTR {
				return rerr != syscall.EAGAIN
			}
		}
	})
	switch {
	case err != nil:
		return 0, c, err
	case rerr != nil:
		return 0, c, rerr
	case n == 0:
		return 0, c, io.EOF
	}
	return b[0], c, nil
}

// peekNow copies into b what has arrived of c's first bytes (up to len(b)), without waiting
// and without consuming them; ok is false if nothing has (or c is not a socket, or the peek
// failed: the caller then waits for the first byte with peekFirst, which sees the same error).
func peekNow(c net.Conn, b []byte) (n int, ok bool) {
	tc, isTCP := c.(*net.TCPConn)
	if !isTCP {
		return 0, false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, false
	}
	_ = rc.Control(func(fd uintptr) {
		for {
			n, _, err = syscall.Recvfrom(int(fd), b, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if err != syscall.EINTR {
				return
			}
		}
	})
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}
