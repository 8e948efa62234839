package server_test

import (
	"log/slog"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/server/servertest"
)

// TestConnectAllocs pins what one WebSocket connect and close costs the node in allocations,
// anonymous with no $connect work (the churn benchmark's case): a raw-socket client that
// allocates nothing of its own opens a connection, reads its 101 and resets it, and the node's
// hub is empty again before the next one. The figure is every allocation of the process over
// the cycles (net/http's request and its bufio, nbio's connection, the gateway's Conn, the
// node's background work), per cycle; the ceiling leaves a little room for that background
// work. Measured (go1.26): 126 per cycle before the connect-path cuts of issue 16 §3b (a
// goroutine per connection in tlsmux, the head parsed and compared for the header limits,
// the Connection/Upgrade lists split, ServeMux's pattern match for every upgrade), 89 after;
// 84 once a close reason and a connection's shape are allocated only when kept; 75 once an
// upgrade whose head is all in at accept is served without net/http (tlsmux's Direct).
func TestConnectAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	const ceiling = 80
	// The log off (as under -v it would not be): no access line is built.
	n := servertest.StartConfig(t, servertest.ParseConfig(t, "routes: { $default: {} }\n"), slog.New(slog.DiscardHandler))
	ap := netip.MustParseAddrPort(n.Addr)
	dst := &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	req := []byte("GET /dev HTTP/1.1\r\nHost: " + n.Addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"User-Agent: " + browserUA + "\r\nOrigin: http://" + n.Addr + "\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	hub := n.Server.Hub()
	cycle := func() {
		fd, err := rawOne(dst, req)
		if err != nil {
			t.Fatal(err)
		}
		rawClose([]int{fd})
		for deadline := time.Now().Add(10 * time.Second); hub.Len() != 0; runtime.Gosched() {
			if time.Now().After(deadline) {
				t.Fatal("the connection was still in the hub 10s after its client reset it")
			}
		}
	}
	for range 20 { // pools, the User-Agent's interned shape, nbio's buffers
		cycle()
	}
	const cycles = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range cycles {
		cycle()
	}
	runtime.ReadMemStats(&after)
	per := float64(after.Mallocs-before.Mallocs) / cycles
	t.Logf("%.1f allocations per connect and close", per)
	if per > ceiling {
		t.Errorf("a connect and close allocates %.1f times in the node, want <= %d", per, ceiling)
	}
}
