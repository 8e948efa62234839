package tlsmux

import (
	"net"
	"syscall"
	"testing"
)

// Listen sets TCP_DEFER_ACCEPT on the listening socket, and the port still takes a client that
// speaks first at once.
func TestListenDefersAccept(t *testing.T) {
	inner, err := Listen("tcp", "127.0.0.1:0")
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
	if _, ok := accepted(t, l).(*net.TCPConn); !ok {
		t.Fatal("plain text not accepted as *net.TCPConn")
	}
	if n := l.slow.Load(); n != 0 {
		t.Fatalf("%d connections went through a goroutine", n)
	}
}
