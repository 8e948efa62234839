package server_test

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// rawFrame is one client frame built by hand: b0 is FIN, RSV and opcode; masked sets the MASK
// bit (with a fixed key) as every client frame must.
func rawFrame(b0 byte, masked bool, payload []byte) []byte {
	f := []byte{b0}
	mask := byte(0)
	if masked {
		mask = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		f = append(f, mask|byte(n))
	case n < 1<<16:
		f = append(f, mask|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, mask|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if !masked {
		return append(f, payload...)
	}
	key := []byte{0x37, 0xfa, 0x21, 0x3d}
	f = append(f, key...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

const (
	fin     = 0x80
	rsv1    = 0x40
	opCont  = 0x0
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
)

func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// Every framing error RFC 6455 names is answered with a close frame carrying the code it asks
// for (1002, 1007 for bad UTF-8, 1009 for AWS's size limits), and the backend's $disconnect
// reports exactly the code and reason sent. Nothing sent after the bad frame reaches the
// integration (a message before it may, if its call started before the close). The table runs
// over ws:// (sockets on nbio's event loop) and wss:// (served by Go's TLS server, read on a
// goroutine) on the same port.
func TestProtocolErrorsAreClosedWithTheirCode(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf("tls: { certFile: %q, keyFile: %q }\n", certFile, keyFile)+fmt.Sprintf(lifecycleAPI, fn.URL()))
	cases := []struct {
		name   string
		frames [][]byte
		code   int
		reason string // a substring of the close reason
	}{
		{"unmasked text frame", [][]byte{rawFrame(fin|opText, false, []byte(`{"a":1}`))}, 1002, "masked"},
		{"invalid UTF-8 in a text message", [][]byte{rawFrame(fin|opText, true, []byte("ok \xff\xfe"))}, 1007, "UTF-8"},
		{"invalid UTF-8 across fragments", [][]byte{rawFrame(opText, true, []byte("caf\xc3")), rawFrame(fin|opCont, true, []byte("("))}, 1007, "UTF-8"},
		{"ping over 125 bytes", [][]byte{rawFrame(fin|opPing, true, bytes.Repeat([]byte("p"), 126))}, 1002, "125"},
		{"RSV1 without an extension", [][]byte{rawFrame(fin|rsv1|opText, true, []byte("x"))}, 1002, "Reserved bits"},
		{"reserved opcode 3", [][]byte{rawFrame(fin|0x3, true, []byte("x"))}, 1002, "opcode 3"},
		{"reserved control opcode 11", [][]byte{rawFrame(fin|0xB, true, nil)}, 1002, "opcode 11"},
		{"fragmented ping", [][]byte{rawFrame(opPing, true, []byte("x"))}, 1002, "Fragmented control"},
		{"stray continuation", [][]byte{rawFrame(fin|opCont, true, []byte("x"))}, 1002, "Continuation"},
		{"interleaved data frames", [][]byte{rawFrame(opText, true, []byte("a")), rawFrame(fin|opText, true, []byte("b"))}, 1002, "inside a fragmented"},
		{"close with a 1-byte payload", [][]byte{rawFrame(fin|opClose, true, []byte{3})}, 1002, "1-byte"},
		{"close reason not UTF-8", [][]byte{rawFrame(fin|opClose, true, closePayload(1000, "\xff"))}, 1007, "UTF-8"},
		{"frame over frameBytes", [][]byte{rawFrame(fin|opText, true, bytes.Repeat([]byte("f"), 32*1024+1))}, 1009, "Frame too big"},
		{"message over messageBytes", [][]byte{
			rawFrame(opText, true, bytes.Repeat([]byte("m"), 32*1024)), rawFrame(opCont, true, bytes.Repeat([]byte("m"), 32*1024)),
			rawFrame(opCont, true, bytes.Repeat([]byte("m"), 32*1024)), rawFrame(opCont, true, bytes.Repeat([]byte("m"), 32*1024)),
			rawFrame(fin|opCont, true, []byte("m")),
		}, 1009, "Message too big"},
	}
	conns := 0
	for _, scheme := range []string{"ws", "wss"} {
		for _, tc := range cases {
			conns++
			t.Run(scheme+"/"+tc.name, func(t *testing.T) {
				c := dialFramesTLS(t, scheme+"://"+n.Addr+"/dev", &tls.Config{RootCAs: pool})
				checkProtocolError(t, fn, c, fn.NthConnectionID(t, conns), tc.name, tc.frames, tc.code, tc.reason)
			})
		}
	}
}

// checkProtocolError sends a good message and then frames to connection id, and checks the
// close frame (code, and reason containing reason), $disconnect, and that the integration got
// nothing after the good message.
func checkProtocolError(t *testing.T, fn *harness.Lambda, c *frameConn, id, name string, frames [][]byte, wantCode int, wantReason string) {
	t.Helper()
	// A good message first: it is routed; the bad frame after it closes the connection.
	good := rawFrame(fin|opText, true, []byte("before "+name))
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(append(good, bytes.Join(frames, nil)...)); err != nil {
		t.Fatalf("write: %v", err)
	}
	code, reason, ok := c.readClose()
	_ = c.conn.Close() // as a client does after the close handshake: $disconnect at once
	if !ok {
		t.Fatalf("socket ended without a close frame, want %d", wantCode)
	}
	if code != wantCode || !strings.Contains(reason, wantReason) {
		t.Errorf("close frame %d %q, want %d with %q", code, reason, wantCode, wantReason)
	}
	ev := fn.WaitEvent(t, "$disconnect", id)
	if got := int(ev.RequestContext.DisconnectStatusCode); got != code || reasonOf(ev) != reason {
		t.Errorf("$disconnect reports %d %q, want what was sent: %d %q", got, reasonOf(ev), code, reason)
	}
	var bodies []string
	for _, e := range fn.ProxyEvents() {
		if e.RequestContext.ConnectionID == id && e.RequestContext.RouteKey == "$default" {
			bodies = append(bodies, e.Body)
		}
	}
	if len(bodies) > 1 || len(bodies) == 1 && bodies[0] != "before "+name {
		t.Errorf("integration got %q, want at most the message sent before the bad frame", bodies)
	}
}

// A close frame with a code no endpoint may send is answered 1002 and reported as such.
func TestInvalidCloseCodeIsProtocolError(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL()))
	c := dialFrames(t, n.WS("/dev"))
	id := fn.NthConnectionID(t, 1)
	_, _ = c.conn.Write(rawFrame(fin|opClose, true, closePayload(1005, "")))
	code, _, ok := c.readClose()
	if !ok || code != 1002 {
		t.Fatalf("close frame %d (received %v), want 1002", code, ok)
	}
	if ev := fn.WaitEvent(t, "$disconnect", id); ev.RequestContext.DisconnectStatusCode != 1002 {
		t.Errorf("$disconnect reports %d %q, want 1002", ev.RequestContext.DisconnectStatusCode, reasonOf(ev))
	}
}
