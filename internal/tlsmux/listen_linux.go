package tlsmux

import (
	"fmt"
	"syscall"
)

// InheritsSocketOptions is true where Listen sets the accepted sockets' options on the listening
// socket, which the kernel copies to each accepted one (Linux: the socket accept(2) returns is a
// clone of the listener's, tcp(7) and socket(7) options included).
const InheritsSocketOptions = true

// inherited sets on the listening socket the options its accepted sockets inherit: o's send
// buffer, and TCP keep-alive as Go sets it per connection by default (net.KeepAliveConfig:
// idle 15 s, interval 15 s, 9 probes).
func inherited(fd uintptr, o ListenOptions) error {
	opts := []sockopt{
		{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1, "SO_KEEPALIVE"},
		{syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, 15, "TCP_KEEPIDLE"},
		{syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, 15, "TCP_KEEPINTVL"},
		{syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, 9, "TCP_KEEPCNT"},
	}
	if o.SendBuffer > 0 {
		opts = append(opts, sockopt{syscall.SOL_SOCKET, syscall.SO_SNDBUF, o.SendBuffer, "SO_SNDBUF"})
	}
	for _, opt := range opts {
		if err := syscall.SetsockoptInt(int(fd), opt.level, opt.name, opt.value); err != nil {
			return fmt.Errorf("set %s=%d on the listening socket: %w", opt.key, opt.value, err)
		}
	}
	return nil
}

// deferAccept asks the kernel to hand a connection to accept(2) only once its first bytes are
// in (TCP_DEFER_ACCEPT, tcp(7)), within about a second; a client that sends nothing is handed
// on after that and classified on a goroutine of its own as before. Every client of this port
// speaks first (an HTTP request or a TLS ClientHello), so the peek in Accept finds the first
// byte without waiting for nearly every connection. Set on the listening socket.
func deferAccept(fd uintptr) error {
	return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, 1)
}

// sockopt is one setsockopt(2) and the option's name for errors.
type sockopt struct {
	level, name, value int
	key                string
}
