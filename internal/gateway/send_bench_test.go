package gateway_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/gateway"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/routing"
)

// benchGateway starts a gateway (memory store, local bus) behind a real loopback listener.
func benchGateway(b *testing.B) (*gateway.Gateway, *hub.Hub[*gateway.Conn], string) {
	b.Helper()
	log := slog.New(slog.DiscardHandler)
	h := hub.New[*gateway.Conn](hub.Options{Node: "bench", Store: registry.NewMemory(), Bus: bus.NewLocal(), MaxMessageBytes: 128 << 10, Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	if err := h.Run(ctx); err != nil {
		b.Fatal(err)
	}
	sel, err := routing.Compile("$request.body.action")
	if err != nil {
		b.Fatal(err)
	}
	g, err := gateway.New(gateway.Options{
		Stage: "dev", Selector: sel, Routes: map[string]*gateway.Route{"$default": {Key: "$default"}},
		Limits: gateway.Limits{MessageBytes: 128 << 10, FrameBytes: 32 << 10, SendQueueBytes: 64 << 20,
			HandshakeTimeout: 10 * time.Second, ConcurrencyPerConnection: 1},
		Hub: h, Logger: log,
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(g)
	b.Cleanup(func() {
		ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = g.Shutdown(ctx)
		srv.Close()
		cancel()
	})
	return g, h, strings.TrimPrefix(srv.URL, "http://")
}

// handshake dials addr and upgrades /dev with a hand-written request.
func handshake(b *testing.B, addr string) (net.Conn, *bufio.Reader) {
	b.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = nc.Close() })
	_, err = io.WriteString(nc, "GET /dev HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if err != nil {
		b.Fatal(err)
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("handshake: %v %v", resp, err)
	}
	return nc, br
}

// readFrame reads one unmasked server frame and returns its opcode and payload length.
func readFrame(br *bufio.Reader) (byte, int, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, 0, err
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return 0, 0, err
		}
		n = int(ext[0])<<8 | int(ext[1])
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return 0, 0, err
		}
		n = 0
		for _, c := range ext {
			n = n<<8 | int(c)
		}
	}
	_, err := br.Discard(n)
	return h[0] & 0x0f, n, err
}

// BenchmarkSend is the frame write every delivery ends in: Conn.Send (the hub.Conn method that
// PostToConnection and broadcast call) through nbio onto a real loopback socket, with a client
// reading and checking every frame (at most 256 in flight): the time per op is the pipeline's,
// sender and reader sharing the machine's cores.
func BenchmarkSend(b *testing.B) {
	for _, size := range []int{64, 1024, 16 << 10} {
		b.Run(byteSize(size), func(b *testing.B) {
			_, h, addr := benchGateway(b)
			_, br := handshake(b, addr)
			var c *gateway.Conn
			deadline := time.Now().Add(10 * time.Second)
			for c == nil && time.Now().Before(deadline) {
				h.Each(func(hc *gateway.Conn) bool { c = hc; return false })
				if c == nil {
					time.Sleep(time.Millisecond)
				}
			}
			if c == nil {
				b.Fatal("connection never reached the hub")
			}
			payload := []byte(strings.Repeat("x", size))
			// window keeps at most 256 frames in flight, so a sender faster than the reader
			// measures the pipeline instead of filling the send queue until it overflows.
			window := make(chan struct{}, 256)
			read := make(chan error, 1)
			sent := 0
			b.SetBytes(int64(size))
			b.ReportAllocs()
			go func(want int) {
				for range want {
					op, n, err := readFrame(br)
					if err == nil && (op != 1 || n != size) {
						err = io.ErrUnexpectedEOF
					}
					if err != nil {
						read <- err
						return
					}
					<-window
				}
				read <- nil
			}(b.N)
			b.ResetTimer()
			for range b.N { // not b.Loop: the reader must know the count up front
				window <- struct{}{}
				if err := c.Send(payload); err != nil {
					b.Fatal(err)
				}
				sent++
			}
			if sent != b.N {
				b.Fatalf("sent %d frames, b.N is %d", sent, b.N)
			}
			if err := <-read; err != nil {
				b.Fatalf("client read: %v", err)
			}
		})
	}
}

func byteSize(n int) string {
	if n >= 1024 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}
