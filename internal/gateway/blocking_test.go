package gateway

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
)

// hijacker is a ResponseWriter whose Hijack hands out conn, as net/http's does after an upgrade.
type hijacker struct {
	http.ResponseWriter
	conn net.Conn
}

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) { return h.conn, nil, nil }

// tcpPair is a connected pair of loopback TCP sockets: the server side and the client side.
func tcpPair(t *testing.T) (*net.TCPConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(); _ = client.Close() })
	return srv.(*net.TCPConn), client
}

func sendBuffer(t *testing.T, c *net.TCPConn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var serr error
	if err := rc.Control(func(fd uintptr) { n, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF) }); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	return n
}

// A TLS socket the upgrader hijacks comes back under a readGuard, with SO_SNDBUF set on the TCP
// socket under it; a plain one comes back as it is (nbio takes it onto its event loop, where
// onData guards it and the SO_SNDBUF is set after the upgrade).
func TestHijackGuardWrapsTLSAndSetsTheSendBuffer(t *testing.T) {
	g := &Gateway{o: Options{Limits: Limits{SocketSendBuffer: 16 << 10}}}
	srv, _ := tcpPair(t)
	before := sendBuffer(t, srv)
	nc, _, err := hijackGuard{hijacker{conn: tls.Server(srv, &tls.Config{})}, &Conn{shape: &connShape{g: g}}}.Hijack()
	if err != nil {
		t.Fatal(err)
	}
	rg, ok := nc.(*readGuard)
	if !ok {
		t.Fatalf("hijacked TLS conn is %T, want *readGuard", nc)
	}
	if rg.NetConn() != net.Conn(srv) {
		t.Errorf("readGuard.NetConn is %T, want the TCP socket under TLS", rg.NetConn())
	}
	// Linux doubles what is asked for its bookkeeping.
	if got := sendBuffer(t, srv); got != 2*(16<<10) {
		t.Errorf("SO_SNDBUF %d (was %d), want %d", got, before, 2*(16<<10))
	}
	plain, _ := tcpPair(t)
	nc, _, err = hijackGuard{hijacker{conn: plain}, &Conn{shape: &connShape{g: g}}}.Hijack()
	if err != nil || nc != net.Conn(plain) {
		t.Fatalf("plain TCP hijacked as %T, %v; want the *net.TCPConn itself", nc, err)
	}
}

// readGuard hands the parser whole headers only, stops at the first bad frame (after the
// frames before it were returned) and fails the connection with the framer's close.
func TestReadGuardFramesLikeOnData(t *testing.T) {
	good1 := frame(0x81, []byte("one"))
	good2 := frame(0x81, bytes.Repeat([]byte("t"), 300)) // a 16-bit length: 8-byte header
	bad := frame(0x81|0x40, []byte("rsv"))               // RSV1 set
	after := frame(0x81, []byte("never"))
	var stream []byte
	stream = append(stream, good1...)
	stream = append(stream, good2...)
	stream = append(stream, bad...)
	stream = append(stream, after...)
	for _, cut := range []int{1, 3, len(good1) + 1, len(good1) + 3, len(good1) + len(good2) + 1} {
		g := &Gateway{o: Options{Limits: Limits{MessageBytes: 128 << 10, FrameBytes: 32 << 10}}}
		c := &Conn{shape: &connShape{g: g}}
		srv, client := net.Pipe()
		go func() {
			_, _ = client.Write(stream[:cut])
			_, _ = client.Write(stream[cut:])
			_ = client.Close()
		}()
		r := &readGuard{Conn: srv, c: c}
		var parsed []byte
		buf := make([]byte, 4096)
		var err error
		for err == nil {
			var n int
			n, err = r.Read(buf)
			parsed = append(parsed, buf[:n]...)
		}
		if err != io.EOF {
			t.Fatalf("cut %d: read ended with %v, want EOF", cut, err)
		}
		if want := len(good1) + len(good2); !bytes.Equal(parsed, stream[:want]) {
			t.Errorf("cut %d: parser got %d bytes, want the %d of the two good frames exactly", cut, len(parsed), want)
		}
		if c.state != closing || c.why() == nil || c.why().code != 1002 {
			t.Errorf("cut %d: connection %v %+v, want closing with 1002", cut, c.state, c.why())
		}
		_ = srv.Close()
	}
}

// wireBytes must be exact: Write subtracts what goes out, admit adds what it counts, and a
// difference would drift the wss:// queue count until pushes were refused for good.
func TestWireBytesIsWhatNbioWrites(t *testing.T) {
	for _, tc := range []struct{ n, maxFrame, want int }{
		{0, 32 << 10, 2},
		{125, 32 << 10, 127},
		{126, 32 << 10, 130},
		{65535, 1 << 20, 65539},
		{65536, 1 << 20, 65546},
		{32 << 10, 32 << 10, 32<<10 + 4},
		{32<<10 + 1, 32 << 10, 32<<10 + 4 + 1 + 2},
		{100 << 10, 32 << 10, 100<<10 + 3*4 + 4},
	} {
		if got := wireBytes(tc.n, tc.maxFrame); got != tc.want {
			t.Errorf("wireBytes(%d, %d) = %d, want %d", tc.n, tc.maxFrame, got, tc.want)
		}
	}
}
