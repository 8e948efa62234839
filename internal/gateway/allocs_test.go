package gateway

import (
	"net/http"
	"testing"
)

// TestFramerScanAllocs pins the inbound frame check every client read passes at zero
// allocations for good frames, whole or cut across reads (the check's close reasons once
// moved to the heap on every header: one allocation per message on the route path).
func TestFramerScanAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	msg := []byte(`{"action":"ping","data":{"room":"lobby","seq":1}}`)
	frame := append([]byte{0x81, 0x80 | byte(len(msg)), 0, 0, 0, 0}, msg...)
	l := &Limits{MessageBytes: 128 << 10, FrameBytes: 32 << 10}
	var f framer
	n := testing.AllocsPerRun(200, func() {
		if s := f.scan(frame, l); s.fail != nil || s.n != len(frame) {
			t.Fatalf("scan: %+v", s)
		}
		// the same frame cut inside its header
		if s := f.scan(frame[:1], l); s.fail != nil || s.n != 0 {
			t.Fatalf("scan of a header's first byte: %+v", s)
		}
		if s := f.scan(frame[1:], l); s.fail != nil || s.npre != 1 || s.n != len(frame)-1 {
			t.Fatalf("scan of the rest: %+v", s)
		}
	})
	if n > 0 {
		t.Errorf("framer.scan allocates %v times per frame, want 0", n)
	}
}

// TestIsUpgrade: the Connection and Upgrade tokens are found in any case, in any place of a
// comma-separated list and across repeated lines, whole tokens only, and without allocating
// (the lists were split into new strings on every handshake).
func TestIsUpgrade(t *testing.T) {
	for _, c := range []struct {
		conn, upgrade []string
		want          bool
	}{
		{[]string{"Upgrade"}, []string{"websocket"}, true},
		{[]string{"keep-alive, Upgrade"}, []string{"WebSocket"}, true},
		{[]string{"keep-alive", " upgrade "}, []string{"h2c,websocket"}, true},
		{[]string{"keep-alive"}, []string{"websocket"}, false},
		{[]string{"upgraded"}, []string{"websocket"}, false},
		{[]string{"Upgrade"}, []string{"websockets, h2c"}, false},
		{[]string{"Upgrade"}, nil, false},
		{[]string{","}, []string{",,"}, false},
	} {
		r := &http.Request{Header: http.Header{}}
		for _, v := range c.conn {
			r.Header.Add("Connection", v)
		}
		for _, v := range c.upgrade {
			r.Header.Add("Upgrade", v)
		}
		if got := IsUpgrade(r); got != c.want {
			t.Errorf("Connection %q, Upgrade %q: IsUpgrade = %v, want %v", c.conn, c.upgrade, got, c.want)
		}
	}
	if raceEnabled {
		return
	}
	r := &http.Request{Header: http.Header{"Connection": {"keep-alive, Upgrade"}, "Upgrade": {"websocket"}}}
	if n := testing.AllocsPerRun(100, func() { IsUpgrade(r) }); n != 0 {
		t.Errorf("IsUpgrade allocates %v times, want 0", n)
	}
}
