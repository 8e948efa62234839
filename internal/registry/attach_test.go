package registry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/registry"
)

// hubConn is a connection held by a real hub, as the gateway's are.
type hubConn struct{ rec registry.Conn }

func (c *hubConn) ID() string            { return c.rec.ID }
func (c *hubConn) Send([]byte) error     { return nil }
func (c *hubConn) Close(hub.CloseReason) {}
func (c *hubConn) LastActive() time.Time { return c.rec.LastActiveAt }
func (c *hubConn) Info() registry.Conn   { return c.rec }

// TestMemoryAttachedHubKeepsOneEntryPerConnection: with the hub in the same process attached,
// the memory store keeps no entry of its own for the hub's connections (the hub's map is the
// one index) and still answers every query about them; a connection the hub drops stays
// readable until Unregister, and one a survivor unregisters while the hub still holds it (a
// reaped node) is gone from every query until the hub lets go of it.
func TestMemoryAttachedHubKeepsOneEntryPerConnection(t *testing.T) {
	ctx := context.Background()
	s := registry.NewMemory().(*registry.Memory)
	b := bus.NewLocal()
	defer b.Close()
	h := hub.New[*hubConn](hub.Options{Node: "n1", Store: s, Bus: b})
	const n = 100
	t0 := time.UnixMilli(1_700_000_000_000)
	for i := range n {
		rec := registry.Conn{ID: fmt.Sprintf("c%03d", i), Node: "n1", ConnectedAt: t0, LastActiveAt: t0, SourceIP: "10.0.0.1"}
		if i < 10 {
			rec.UserID = "u1"
		}
		h.Add(ctx, &hubConn{rec: rec})
	}
	if e, g := s.ConnEntries(); e != 0 || g != 0 {
		t.Fatalf("store keeps %d entries (%d gone) for %d connections the attached hub holds; want none", e, g, n)
	}
	if c, err := s.Get(ctx, "c042"); err != nil || c.ID != "c042" || c.SourceIP != "10.0.0.1" {
		t.Fatalf("Get = %+v, %v", c, err)
	}
	if err := s.Join(ctx, "c001", "g"); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.UserConns(ctx, "u1"); len(m) != 10 {
		t.Fatalf("UserConns = %d connections, want 10", len(m))
	}
	if m, _ := s.NodeConns(ctx, "n1"); len(m) != n {
		t.Fatalf("NodeConns = %d connections, want %d", len(m), n)
	}
	if dead, _ := s.DeadNodes(ctx); len(dead) != 1 || dead[0] != "n1" {
		t.Fatalf("DeadNodes = %v; want n1 (it holds connections and never sent a heartbeat)", dead)
	}
	// Registering again (a resync) indexes nothing twice.
	if err := s.RegisterSource(ctx, mustLocal(t, h, "c000")); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.UserConns(ctx, "u1"); len(m) != 10 {
		t.Fatalf("UserConns after a second RegisterSource = %d connections, want 10", len(m))
	}

	// A survivor reaps n1 while the hub still holds its connections.
	rec, ok, err := s.Unregister(ctx, "c001")
	if err != nil || !ok || rec.ID != "c001" || rec.UserID != "u1" {
		t.Fatalf("Unregister of a held connection = %+v, %v, %v", rec, ok, err)
	}
	if _, ok, _ := s.Unregister(ctx, "c001"); ok {
		t.Fatal("second Unregister removed it again")
	}
	if _, err := s.Get(ctx, "c001"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get after Unregister: %v, want ErrNotFound", err)
	}
	if m, _ := s.GroupMembers(ctx, "g"); len(m) != 0 {
		t.Fatalf("GroupMembers after Unregister = %+v", m)
	}
	if m, _ := s.UserConns(ctx, "u1"); len(m) != 9 {
		t.Fatalf("UserConns after Unregister = %d, want 9", len(m))
	}
	if m, _ := s.NodeConns(ctx, "n1"); len(m) != n-1 {
		t.Fatalf("NodeConns after Unregister = %d, want %d", len(m), n-1)
	}
	if !h.Forget("c001") {
		t.Fatal("hub did not hold c001")
	}
	if e, g := s.ConnEntries(); e != 0 || g != 0 {
		t.Fatalf("after the hub let go of an unregistered connection: %d entries, %d gone; want none", e, g)
	}

	// The hub drops a connection: the store holds its record until Unregister.
	if !h.Forget("c002") {
		t.Fatal("hub did not hold c002")
	}
	if c, err := s.Get(ctx, "c002"); err != nil || c.ID != "c002" {
		t.Fatalf("Get between Forget and Unregister = %+v, %v; want the record", c, err)
	}
	if m, _ := s.NodeConns(ctx, "n1"); len(m) != n-1 {
		t.Fatalf("NodeConns between Forget and Unregister = %d, want %d (c002 is still registered)", len(m), n-1)
	}
	h.Unregister(ctx, "c002")
	if _, err := s.Get(ctx, "c002"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get after Unregister: %v, want ErrNotFound", err)
	}
	if m, _ := s.UserConns(ctx, "u1"); len(m) != 8 {
		t.Fatalf("UserConns = %d, want 8", len(m))
	}

	h.Each(func(c *hubConn) bool { h.Remove(ctx, c.ID()); return true })
	if e, g := s.ConnEntries(); e != 0 || g != 0 {
		t.Fatalf("after every connection closed: %d entries, %d gone", e, g)
	}
	if dead, _ := s.DeadNodes(ctx); len(dead) != 0 {
		t.Fatalf("DeadNodes = %v with no connection left", dead)
	}
	if p, _ := s.Presence(ctx, []string{"u1"}); p[0].Online {
		t.Fatalf("Presence = %+v, want offline", p[0])
	}
}

func mustLocal(t *testing.T, h *hub.Hub[*hubConn], id string) *hubConn {
	t.Helper()
	c, ok := h.Local(id)
	if !ok {
		t.Fatalf("hub does not hold %s", id)
	}
	return c
}
