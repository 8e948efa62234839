package harness

import (
	"net"
	"testing"
)

// ServeTCP listens on a loopback port and runs serve for every connection accepted, each on a
// goroutine of its own (serve closes it), until t's cleanup closes the listener. It returns the
// listener's host:port: a raw backend for tests that need bytes net/http would not write.
func ServeTCP(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String()
}
