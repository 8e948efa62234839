package server_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// mirrorLambda answers every message with its body unchanged.
func mirrorLambda(t *testing.T) *harness.Lambda {
	return harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) { return 200, ev.Body })
}

// Oversized messages and frames close with 1009, binary frames with 1003, each reported in
// $disconnect; the limits are AWS's defaults (128 KB message, 32 KB frame).
func TestSizeAndBinaryLimitsClose(t *testing.T) {
	fn := mirrorLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL()))
	cases := []struct {
		name string
		send func(c *frameConn)
		code int
	}{
		{"message over 128 KB in 32 KB frames", func(c *frameConn) {
			msg := bytes.Repeat([]byte("a"), 128<<10+1)
			for i := 0; i < len(msg); i += 32 << 10 { // the server may close before the last frame
				end := min(i+32<<10, len(msg))
				op := ws.OpContinuation
				if i == 0 {
					op = ws.OpText
				}
				c.tryFrame(op, end == len(msg), msg[i:end])
			}
		}, 1009},
		{"one 33 KB frame in a 40 KB message", func(c *frameConn) {
			c.frame(ws.OpText, false, bytes.Repeat([]byte("b"), 33<<10))
			c.tryFrame(ws.OpContinuation, true, bytes.Repeat([]byte("b"), 7<<10)) // may be cut off
		}, 1009},
		{"a single unfragmented 33 KB frame", func(c *frameConn) {
			c.frame(ws.OpText, true, bytes.Repeat([]byte("c"), 33<<10))
		}, 1009},
		{"last frame over 32 KB", func(c *frameConn) {
			c.frame(ws.OpText, false, bytes.Repeat([]byte("d"), 1<<10))
			c.frame(ws.OpContinuation, true, bytes.Repeat([]byte("d"), 33<<10))
		}, 1009},
		{"a binary frame", func(c *frameConn) {
			c.frame(ws.OpBinary, true, []byte{0, 1, 2})
		}, 1003},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialFrames(t, n.WS("/dev"))
			id := fn.NthConnectionID(t, i+1)
			tc.send(c)
			code, reason, ok := c.readClose()
			if !ok || code != tc.code {
				t.Errorf("client close = %d %q (frame received: %v), want %d", code, reason, ok, tc.code)
			}
			ev := fn.WaitEvent(t, "$disconnect", id)
			if ev.RequestContext.DisconnectStatusCode != int64(tc.code) {
				t.Errorf("$disconnect code = %d %q, want %d", ev.RequestContext.DisconnectStatusCode, reasonOf(ev), tc.code)
			}
		})
	}
	if got := fn.Count("$default"); got != 0 {
		t.Errorf("%d oversized or binary messages reached the integration", got)
	}
}

// A message of exactly 128 KB in 32 KB frames passes; the route response and a push of
// 128 KB arrive intact.
func TestMessagesAtTheLimitPass(t *testing.T) {
	fn := mirrorLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL()))
	c := dialFrames(t, n.WS("/dev"))
	id := fn.NthConnectionID(t, 1)

	msg := make([]byte, 128<<10)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}
	c.fragments(ws.OpText, msg, 32<<10)
	op, got, err := c.readMessage()
	if err != nil || op != ws.OpText || !bytes.Equal(got, msg) {
		t.Fatalf("route response: op %v, %d bytes, err %v; want the 128 KB message back intact", op, len(got), err)
	}
	if ev := fn.WaitEvent(t, "$default", ""); len(ev.Body) != len(msg) {
		t.Fatalf("integration got %d bytes, want %d", len(ev.Body), len(msg))
	}

	push := bytes.ToUpper(msg)
	resp, err := http.Post("http://"+n.Addr+"/dev/@connections/"+id, "application/octet-stream", bytes.NewReader(push))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("128 KB push = %d, want 200", resp.StatusCode)
	}
	op, got, err = c.readMessage()
	if err != nil || op != ws.OpText || !bytes.Equal(got, push) {
		t.Fatalf("push: op %v, %d bytes, err %v; want the 128 KB push intact", op, len(got), err)
	}
}

// With limits.allowBinary a binary message reaches the integration base64-encoded.
func TestAllowBinaryBase64(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		return 200, fmt.Sprintf("b64=%v", ev.IsBase64Encoded)
	})
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL())+"limits: { allowBinary: true }\n")
	c := dialFrames(t, n.WS("/dev"))
	data := []byte{0, 0xff, 0x10, 'h', 'i', 0x80}
	c.frame(ws.OpBinary, true, data)
	_, got, err := c.readMessage()
	if err != nil || string(got) != "b64=true" {
		t.Fatalf("answer %q, err %v", got, err)
	}
	ev := fn.WaitEvent(t, "$default", "")
	if dec, err := base64.StdEncoding.DecodeString(ev.Body); err != nil || !bytes.Equal(dec, data) || !ev.IsBase64Encoded {
		t.Fatalf("event body %q (isBase64Encoded %v), want base64 of %v", ev.Body, ev.IsBase64Encoded, data)
	}
	// Text still arrives as text.
	c.frame(ws.OpText, true, []byte(`{"x":1}`))
	if _, got, err := c.readMessage(); err != nil || string(got) != "b64=false" {
		t.Fatalf("text answer %q, err %v", got, err)
	}
	if !strings.Contains(fn.ProxyEvents()[2].Body, `"x"`) {
		t.Fatalf("text body = %q", fn.ProxyEvents()[2].Body)
	}
}
