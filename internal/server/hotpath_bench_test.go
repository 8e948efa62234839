package server_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/gateway"
	"github.com/wsgate/wsgate/internal/server"
	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// startBenchServer starts a node in this process on a free loopback port, logs discarded.
func startBenchServer(b testing.TB, yaml string) *server.Server {
	b.Helper()
	return servertest.StartConfig(b, servertest.ParseConfig(b, yaml), nil).Server
}

// benchWS is a minimal WebSocket client: hand-written handshake, masked text frames out,
// unmasked frames in. It allocates nothing per message, so allocs/op are the gateway's.
type benchWS struct {
	nc  net.Conn
	br  *bufio.Reader
	out []byte
	in  []byte
}

func dialBenchWS(b testing.TB, addr, path string) *benchWS {
	b.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = nc.Close() })
	_, err = io.WriteString(nc, "GET "+path+" HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if err != nil {
		b.Fatal(err)
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("handshake: %v %v", resp, err)
	}
	return &benchWS{nc: nc, br: br}
}

// send writes p as one masked text frame (mask key 0: valid, and XOR-free).
func (c *benchWS) send(p []byte) error {
	c.out = append(c.out[:0], 0x81)
	switch {
	case len(p) < 126:
		c.out = append(c.out, 0x80|byte(len(p)))
	case len(p) < 1<<16:
		c.out = append(c.out, 0x80|126)
		c.out = binary.BigEndian.AppendUint16(c.out, uint16(len(p)))
	default:
		c.out = append(c.out, 0x80|127)
		c.out = binary.BigEndian.AppendUint64(c.out, uint64(len(p)))
	}
	c.out = append(c.out, 0, 0, 0, 0)
	c.out = append(c.out, p...)
	_, err := c.nc.Write(c.out)
	return err
}

// recv reads one frame; the payload is valid until the next recv.
func (c *benchWS) recv() (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if cap(c.in) < int(n) {
		c.in = make([]byte, n)
	}
	c.in = c.in[:n]
	_, err := io.ReadFull(c.br, c.in)
	return h[0] & 0x0f, c.in, err
}

// onlyConnID returns the id of the node's single connection once it is registered.
func onlyConnID(b *testing.B, srv *server.Server) string {
	b.Helper()
	var id string
	harness.EventuallyWithin(b, time.Minute, "the connection to register", func() bool {
		srv.Hub().Each(func(c *gateway.Conn) bool { id = c.ID(); return false })
		return id != ""
	})
	return id
}

// BenchmarkPostToConnectionE2E is one push end to end through a real node: an HTTP
// PostToConnection on a keep-alive connection (loopback, unsigned: SigV4 has its own
// benchmark in internal/sigv4), the management handler, the hub, the memory store, the frame
// write, and the client reading the frame. One request in flight: this is latency, not the
// node's push capacity (the load generator measures that with many clients).
func BenchmarkPostToConnectionE2E(b *testing.B) {
	srv := startBenchServer(b, "stage: dev\n")
	ws := dialBenchWS(b, srv.Addr(), "/dev")
	url := fmt.Sprintf("http://%s/dev/@connections/%s", srv.Addr(), strings.ReplaceAll(onlyConnID(b, srv), "=", "%3D"))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	b.Cleanup(client.CloseIdleConnections)
	body := []byte(`{"type":"notification","text":"you have a new message from alice","unread":3}`)
	rd := bytes.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		resp, err := client.Post(url, "application/json", rd)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("PostToConnection: %s", resp.Status)
		}
		op, got, err := ws.recv()
		if err != nil || op != 1 || !bytes.Equal(got, body) {
			b.Fatalf("client got opcode %d %q, %v", op, got, err)
		}
	}
}

// BenchmarkMockRoundTrip is one message through a two-way route to a MOCK integration and its
// answer back at the client: frame read, route selection, the job queue, the integration's
// templates, the frame write. One message in flight: latency per message.
func BenchmarkMockRoundTrip(b *testing.B) {
	srv := startBenchServer(b, `stage: dev
routeSelectionExpression: $request.body.action
routes:
  ping: { integration: pong, routeResponse: true }
integrations:
  pong:
    type: MOCK
    requestTemplates: { $default: '{"statusCode": 200}' }
    responses: { $default: { templates: { $default: '{"action":"pong"}' } } }
`)
	ws := dialBenchWS(b, srv.Addr(), "/dev")
	msg := []byte(`{"action":"ping","data":{"room":"lobby","seq":1}}`)
	want := []byte(`{"action":"pong"}`)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ws.send(msg); err != nil {
			b.Fatal(err)
		}
		op, got, err := ws.recv()
		if err != nil || op != 1 || !bytes.Equal(got, want) {
			b.Fatalf("client got opcode %d %q, %v", op, got, err)
		}
	}
}
