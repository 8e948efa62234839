package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/registry"
)

// A connection's id and source address share one allocation and come back apart exactly, for
// a connection made here (newKey) and one rebuilt from a registry record (connFromRecord).
func TestKeyHoldsSourceAddressAndID(t *testing.T) {
	for _, ip := range []string{"", "10.0.0.1", "2001:db8::1", "fe80::1%eth0", strings.Repeat("9", 300)} {
		var id [16]byte
		event.PutID(&id)
		c := &Conn{}
		c.key, c.ipLen = newKey(ip, &id)
		want := ip[:min(len(ip), 255)]
		if c.ID() != string(id[:]) || c.sourceIP() != want {
			t.Fatalf("newKey(%q): id %q, sourceIp %q; want %q, %q", ip, c.ID(), c.sourceIP(), id[:], want)
		}
		if !event.ValidID(c.ID()) {
			t.Fatalf("id %q is not in NewID's shape", c.ID())
		}
	}
	var id [16]byte
	event.PutID(&id)
	if n := testing.AllocsPerRun(100, func() { newKey("203.0.113.7", &id) }); n != 1 {
		t.Fatalf("newKey: %v allocations, want 1", n)
	}

	g := newTestGateway(t, Limits{IdleTimeout: time.Hour})
	rec := registry.Conn{ID: "Dwz4leekPHcCG6Q=", Node: "n1", ConnectedAt: time.UnixMilli(1_700_000_000_000),
		SourceIP: "2001:db8::7", UserAgent: "curl/8.5.0", Path: "/dev"}
	got := connFromRecord(g, rec).Info()
	if got.ID != rec.ID || got.SourceIP != rec.SourceIP || got.UserAgent != rec.UserAgent || got.Path != rec.Path ||
		!got.ConnectedAt.Equal(rec.ConnectedAt) {
		t.Fatalf("connFromRecord(%+v).Info() = %+v", rec, got)
	}
}

// The control-frame limit packed into Conn.ctl: limit frames in one second pass, the next one
// closes 1008; a new second starts a new count; the count saturates instead of carrying into
// the second's bits.
func TestControlFramesPerSecondPacked(t *testing.T) {
	g := newTestGateway(t, Limits{IdleTimeout: time.Hour, ControlFramesPerSecond: 3})
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC).UnixNano()
	c := &Conn{shape: &connShape{g: g}, state: open}
	for i := range 3 {
		if !c.controlFrameAt(t0 + int64(i)*int64(100*time.Millisecond)) {
			t.Fatalf("frame %d of 3 in one second refused", i+1)
		}
	}
	for i := range 3 {
		if !c.controlFrameAt(t0 + int64(time.Second) + int64(i)) {
			t.Fatalf("frame %d of the next second refused: the count did not restart", i+1)
		}
	}
	if c.controlFrameAt(t0 + int64(time.Second) + 5) {
		t.Fatal("a 4th frame in one second passed")
	}
	if s, r := c.state, c.why(); s != closing || r == nil || *r != reasonCtlFlood {
		t.Fatalf("after the 4th frame: %v %+v; want closing for %+v", s, r, reasonCtlFlood)
	}

	sat := &Conn{shape: &connShape{g: g}, state: open}
	sec := uint32(t0/int64(time.Second)) << ctlCountBits
	sat.ctl = sec | ctlCountMask
	sat.controlFrameAt(t0)
	if sat.ctl != sec|ctlCountMask {
		t.Fatalf("a full count moved the window: ctl %#x, want %#x", sat.ctl, sec|ctlCountMask)
	}
}

// Last-frame stamps are 4-byte millisecond clocks: the time since one is exact to the
// millisecond, across the clock's wrap too, for anything under 24.8 days either way (a frame
// stamped just after the sweeper read the clock is not ages old: TestDisconnectOnMaxDuration
// caught that).
func TestStampSince(t *testing.T) {
	wrap := int64(1<<32) * int64(time.Millisecond) // a time whose stamp is 0
	for _, now := range []int64{
		time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC).UnixNano(),
		wrap + int64(3*time.Second), // the stamp wrapped between then and now
		wrap,
	} {
		for _, ago := range []time.Duration{0, 250 * time.Millisecond, 5 * time.Second, 10 * time.Minute, 24 * 24 * time.Hour,
			-time.Millisecond, -3 * time.Second} {
			got := time.Duration(since(now, stamp(now-int64(ago))))
			if d := got - ago; d <= -time.Millisecond || d >= time.Millisecond {
				t.Fatalf("now %d, %v ago: since = %v", now, ago, got)
			}
		}
	}
	c := &Conn{}
	at := time.Now().Add(-90 * time.Second)
	c.lastData.Store(stamp(at.UnixNano()))
	if d := c.LastActive().Sub(at); d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("LastActive = %v, want %v to the millisecond", c.LastActive(), at)
	}
}

// newTestGateway is a gateway on an in-process hub and memory store with no listener, its
// sweeper stopped and its bus closed at t's cleanup.
func newTestGateway(t testing.TB, l Limits) *Gateway {
	t.Helper()
	b := bus.NewLocal()
	t.Cleanup(func() { b.Close() })
	h := hub.New[*Conn](hub.Options{Node: "n1", Store: registry.NewMemory(), Bus: b})
	g, err := New(Options{Stage: "dev", Hub: h, Limits: l})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(g.stopSweep); <-g.sweepDone }) // the engine has no listener to stop
	return g
}
