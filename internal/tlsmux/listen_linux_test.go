package tlsmux

import (
	"net"
	"syscall"
	"testing"
)

// Listen sets TCP_DEFER_ACCEPT on the listening socket, and the port still takes a client that
// speaks first at once; the socket it accepts has the send buffer and the keep-alive set on the
// listener (inherited: Accept sets neither), and TCP_NODELAY as net.Listen's have.
func TestListenDefersAccept(t *testing.T) {
	const sndbuf = 24 * 1024
	inner, err := Listen("tcp", "127.0.0.1:0", ListenOptions{SendBuffer: sndbuf})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := inner.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		v, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT)
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	if v == 0 {
		t.Fatal("TCP_DEFER_ACCEPT is not set on the listening socket")
	}
	l := New(inner, Options{})
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\n")); err != nil {
		t.Fatal(err)
	}
	tc, ok := accepted(t, l).(*net.TCPConn)
	if !ok {
		t.Fatal("plain text not accepted as *net.TCPConn")
	}
	defer tc.Close()
	want := map[string]int{"SO_SNDBUF": 2 * sndbuf, "SO_KEEPALIVE": 1, "TCP_KEEPIDLE": 15, "TCP_KEEPINTVL": 15, "TCP_KEEPCNT": 9, "TCP_NODELAY": 1}
	for key, opt := range map[string][2]int{
		"SO_SNDBUF": {syscall.SOL_SOCKET, syscall.SO_SNDBUF}, "SO_KEEPALIVE": {syscall.SOL_SOCKET, syscall.SO_KEEPALIVE},
		"TCP_KEEPIDLE": {syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE}, "TCP_KEEPINTVL": {syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL},
		"TCP_KEEPCNT": {syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT}, "TCP_NODELAY": {syscall.IPPROTO_TCP, syscall.TCP_NODELAY},
	} {
		if got := sockoptOf(t, tc, opt[0], opt[1]); got != want[key] {
			t.Errorf("accepted socket: %s = %d, want %d", key, got, want[key])
		}
	}
	if n := l.slow.Load(); n != 0 {
		t.Fatalf("%d connections went through a goroutine", n)
	}
}

func sockoptOf(t *testing.T, c *net.TCPConn, level, name int) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), level, name) }); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	return v
}
