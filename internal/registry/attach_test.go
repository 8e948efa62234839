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

// keyedConn is a hubConn that names its keys (registry.Keyed), as the gateway's connections
// do, and counts the records built from it.
type keyedConn struct {
	hubConn
	infos *int
}

func (c *keyedConn) Info() registry.Conn { *c.infos++; return c.rec }
func (c *keyedConn) Keys() (id, node, userID string) {
	return c.rec.ID, c.rec.Node, c.rec.UserID
}

// TestMemoryDropIsReleaseAndUnregister: a hub attached to the memory store removes a connection
// in one step (Drop) with what Forget, Release and Unregister leave: no record, no user or group
// membership, no entry, presence offline; also when a survivor unregistered it first (reaped)
// and when a copy was registered meanwhile. A connection with Keys and no user is added and
// removed without building its record once.
func TestMemoryDropIsReleaseAndUnregister(t *testing.T) {
	ctx := context.Background()
	s := registry.NewMemory().(*registry.Memory)
	b := bus.NewLocal()
	defer b.Close()
	h := hub.New[*keyedConn](hub.Options{Node: "n1", Store: s, Bus: b})
	if !h.StoreInProcess() {
		t.Fatal("StoreInProcess = false with the memory store")
	}
	infos := 0
	t0 := time.UnixMilli(1_700_000_000_000)
	add := func(id, user string) {
		rec := registry.Conn{ID: id, Node: "n1", ConnectedAt: t0, LastActiveAt: t0, UserID: user}
		h.Add(ctx, &keyedConn{hubConn{rec}, &infos})
	}

	add("anon", "")
	if !h.Remove(ctx, "anon") {
		t.Fatal("Remove of a held connection = false")
	}
	if infos != 0 {
		t.Fatalf("adding and removing a keyed connection without a user built its record %d times, want 0", infos)
	}
	if h.Remove(ctx, "anon") {
		t.Fatal("second Remove = true")
	}

	add("c1", "u1")
	add("c2", "u1")
	if err := s.Join(ctx, "c1", "g"); err != nil {
		t.Fatal(err)
	}
	h.Remove(ctx, "c1")
	if _, err := s.Get(ctx, "c1"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get after Remove: %v, want ErrNotFound", err)
	}
	if m, _ := s.GroupMembers(ctx, "g"); len(m) != 0 {
		t.Fatalf("GroupMembers after Remove = %+v", m)
	}
	if m, _ := s.UserConns(ctx, "u1"); len(m) != 1 || m[0].ID != "c2" {
		t.Fatalf("UserConns after Remove = %+v, want c2 only", m)
	}

	// Reaped: a survivor unregistered c2 while the hub held it; the hub then removes it.
	if _, ok, _ := s.Unregister(ctx, "c2"); !ok {
		t.Fatal("Unregister of a held connection = false")
	}
	h.Remove(ctx, "c2")
	if e, g := s.ConnEntries(); e != 0 || g != 0 {
		t.Fatalf("after removing a reaped connection: %d entries, %d gone; want none", e, g)
	}
	if p, _ := s.Presence(ctx, []string{"u1"}); p[0].Online || p[0].Connections != 0 {
		t.Fatalf("Presence = %+v, want offline", p[0])
	}

	// A copy of a held connection's record registered meanwhile goes with it.
	add("c3", "u2")
	if err := s.Register(ctx, registry.Conn{ID: "c3", Node: "n1", ConnectedAt: t0, LastActiveAt: t0, UserID: "u2"}); err != nil {
		t.Fatal(err)
	}
	h.Remove(ctx, "c3")
	if _, err := s.Get(ctx, "c3"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get after Remove of a connection registered by copy too: %v", err)
	}
	if e, g := s.ConnEntries(); e != 0 || g != 0 {
		t.Fatalf("after removing it: %d entries, %d gone; want none", e, g)
	}
	if m, _ := s.UserConns(ctx, "u2"); len(m) != 0 {
		t.Fatalf("UserConns(u2) = %+v, want none", m)
	}
	if dead, _ := s.DeadNodes(ctx); len(dead) != 0 {
		t.Fatalf("DeadNodes = %v with no connection left", dead)
	}
}
