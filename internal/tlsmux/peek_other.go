//go:build !unix

package tlsmux

import "net"

// peekFirst reads the first byte where MSG_PEEK is not available; plain-text connections are
// then handed on wrapped, which keeps nbio from taking them onto its event loop (they are
// served on a goroutine each, as wss:// ones are).
func peekFirst(c net.Conn) (byte, net.Conn, error) { return readFirst(c) }

// peekNow never finds the first byte where it cannot be peeked: every connection is
// classified on its own goroutine.
func peekNow(net.Conn, []byte) (int, bool) { return 0, false }
