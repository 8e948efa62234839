package tlsmux

import "syscall"

// deferAccept asks the kernel to hand a connection to accept(2) only once its first bytes are
// in (TCP_DEFER_ACCEPT, tcp(7)), within about a second; a client that sends nothing is handed
// on after that and classified on a goroutine of its own as before. Every client of this port
// speaks first (an HTTP request or a TLS ClientHello), so the peek in Accept finds the first
// byte without waiting for nearly every connection. Set on the listening socket.
func deferAccept(fd uintptr) error {
	return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, 1)
}
