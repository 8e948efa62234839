package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/server/servertest"
)

// frameConn is a client-side WebSocket at the frame level: it writes exactly the frames a test
// asks for, answers nothing on its own (no pongs, no close echo) and reads only when asked.
type frameConn struct {
	t    *testing.T
	conn net.Conn
	r    io.Reader
	wmu  sync.Mutex // one frame at a time, whichever goroutine writes
}

// dialFrames completes a real handshake and hands back the raw socket.
func dialFrames(t *testing.T, url string) *frameConn {
	t.Helper()
	return dialFramesTLS(t, url, nil)
}

// dialFramesTLS is dialFrames for a wss:// url too, trusting what tc trusts.
func dialFramesTLS(t *testing.T, url string, tc *tls.Config) *frameConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dialer{TLSConfig: tc}.Dial(ctx, url)
	if err != nil {
		t.Fatalf("raw dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	return &frameConn{t: t, conn: conn, r: r}
}

// frame writes one masked frame (fin false for a fragment followed by continuations).
func (c *frameConn) frame(op ws.OpCode, fin bool, payload []byte) {
	c.t.Helper()
	f := ws.MaskFrameInPlace(ws.NewFrame(op, fin, append([]byte(nil), payload...)))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := ws.WriteFrame(c.conn, f); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

// tryFrame is frame for writes the server may legitimately cut off (it closes on a limit).
func (c *frameConn) tryFrame(op ws.OpCode, fin bool, payload []byte) {
	f := ws.MaskFrameInPlace(ws.NewFrame(op, fin, append([]byte(nil), payload...)))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_ = ws.WriteFrame(c.conn, f)
}

// next reads the next frame from the server.
func (c *frameConn) next() (ws.Frame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	return ws.ReadFrame(c.r)
}

// readClose skips data and ping frames until the server's close frame, answers it as a
// well-behaved client does, and returns its code and reason; ok is false if the socket ended
// without one.
func (c *frameConn) readClose() (code int, reason string, ok bool) {
	for {
		f, err := c.next()
		if err != nil {
			return 0, "", false
		}
		if f.Header.OpCode == ws.OpClose {
			sc, r := ws.ParseCloseFrameData(f.Payload)
			c.tryFrame(ws.OpClose, true, f.Payload[:min(2, len(f.Payload))])
			return int(sc), r, true
		}
	}
}

func reasonOf(ev events.APIGatewayWebsocketProxyRequest) string {
	if ev.RequestContext.DisconnectReason == nil {
		return "<nil>"
	}
	return *ev.RequestContext.DisconnectReason
}

// metric scrapes the node's /metrics and returns the sum of the samples of name whose label
// set contains every label in want ("reason=\"slow_consumer\"").
func scrapeMetric(t *testing.T, n *servertest.Node, name string, want ...string) float64 {
	t.Helper()
	resp, err := http.Get(n.HTTP("/metrics"))
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || strings.HasPrefix(line, "#") {
			continue
		}
		rest := line[len(name):]
		if rest != "" && rest[0] != '{' && rest[0] != ' ' {
			continue // a longer metric name
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(rest, w)
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// readMessage reads one whole data message (reassembling continuation frames, skipping pings)
// and returns its opcode and payload.
func (c *frameConn) readMessage() (ws.OpCode, []byte, error) {
	var op ws.OpCode
	var data []byte
	for {
		f, err := c.next()
		if err != nil {
			return 0, nil, err
		}
		if f.Header.OpCode.IsControl() {
			if f.Header.OpCode == ws.OpClose {
				sc, r := ws.ParseCloseFrameData(f.Payload)
				return ws.OpClose, nil, fmt.Errorf("closed %d %q", sc, r)
			}
			continue
		}
		if f.Header.OpCode != ws.OpContinuation {
			op = f.Header.OpCode
		}
		data = append(data, f.Payload...)
		if f.Header.Fin {
			return op, data, nil
		}
	}
}

// fragments sends payload as one text message split into frames of at most size bytes.
func (c *frameConn) fragments(op ws.OpCode, payload []byte, size int) {
	c.t.Helper()
	for first := true; ; first = false {
		n := min(size, len(payload))
		fop := ws.OpContinuation
		if first {
			fop = op
		}
		c.frame(fop, n == len(payload), payload[:n])
		payload = payload[n:]
		if len(payload) == 0 {
			return
		}
	}
}
