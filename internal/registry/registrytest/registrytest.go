// Package registrytest is the contract every registry.Store must meet: one suite, run against
// the memory store and the Redis store, so the two cannot drift apart.
package registrytest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/registry"
)

// Advancer is implemented by a store under test whose clock the suite may move forward, so node
// leases expire without waiting. Stores on a real clock (Redis) are polled instead.
type Advancer interface {
	Advance(d time.Duration)
}

// pollTimeout bounds every wait for a condition (such as a lease expiring in Redis).
const pollTimeout = 10 * time.Second

// Run runs the contract suite. newStore must return an empty store that does not share state
// with any other store it returned (a fresh key prefix for Redis); Run closes it.
func Run(t *testing.T, newStore func(t *testing.T) registry.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s registry.Store)
	}{
		{"RegisterGetUnregister", testRegisterGetUnregister},
		{"RegisterRejectsBadInput", testRegisterRejectsBadInput},
		{"UserConnsAcrossNodes", testUserConnsAcrossNodes},
		{"PresenceKeepsLastActiveAfterOffline", testPresence},
		{"OnlineUsersPaging", testOnlineUsersPaging},
		{"OnlineUsersBadInput", testOnlineUsersBadInput},
		{"Groups", testGroups},
		{"UnregisterLeavesGroups", testUnregisterLeavesGroups},
		{"Touch", testTouch},
		{"NodeLeases", testNodeLeases},
		{"ClaimDeadNodeOneWinner", testClaimOneWinner},
		{"ReapedReportsAClaimOnce", testReaped},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// base is a fixed instant, whole milliseconds: stores keep times to the millisecond.
var base = time.Now().Truncate(time.Millisecond)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func conn(id, node, user string) registry.Conn {
	return registry.Conn{
		ID: id, Node: node, UserID: user,
		ConnectedAt: base, LastActiveAt: base,
		SourceIP: "192.0.2.7",
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sameConn(a, b registry.Conn) bool {
	return a.ID == b.ID && a.Node == b.Node && a.ConnectedAt.Equal(b.ConnectedAt) &&
		a.LastActiveAt.Equal(b.LastActiveAt) && a.SourceIP == b.SourceIP && a.UserAgent == b.UserAgent &&
		a.UserID == b.UserID && a.Path == b.Path && fmt.Sprint(a.Authorizer) == fmt.Sprint(b.Authorizer)
}

func ids(cs []registry.Conn) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	slices.Sort(out)
	return out
}

func testRegisterGetUnregister(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	c := registry.Conn{
		ID: "Zp3x-AbC=", Node: "node-1", UserID: "user-1",
		ConnectedAt: base, LastActiveAt: base.Add(time.Second),
		SourceIP: "2001:db8::1", UserAgent: "test/1.0 (x; y)", Path: "/chat/room-1",
		// Values that survive a JSON round trip unchanged, as a remote store may encode them.
		Authorizer: map[string]any{"principalId": "u1", "score": 4.5, "admin": true, "claims": map[string]any{"sub": "u1"}},
	}
	must(t, s.Register(ctx, c))
	got, err := s.Get(ctx, c.ID)
	must(t, err)
	if !sameConn(got, c) {
		t.Fatalf("Get = %+v\nwant  %+v", got, c)
	}
	if _, err := s.Get(ctx, "missing"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get(unknown) err = %v, want ErrNotFound", err)
	}
	removed, ok, err := s.Unregister(ctx, c.ID)
	must(t, err)
	if !ok || !sameConn(removed, c) {
		t.Fatalf("Unregister = %+v, %v; want the record, true", removed, ok)
	}
	if _, err := s.Get(ctx, c.ID); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get after Unregister err = %v, want ErrNotFound", err)
	}
	if _, ok, err := s.Unregister(ctx, c.ID); err != nil || ok {
		t.Fatalf("second Unregister = %v, %v; want false, nil", ok, err)
	}
	if _, ok, err := s.Unregister(ctx, "never-registered"); err != nil || ok {
		t.Fatalf("Unregister(unknown) = %v, %v; want false, nil", ok, err)
	}
	// A connection without a user or optional fields round-trips too.
	bare := registry.Conn{ID: "bare", Node: "node-1", ConnectedAt: base, LastActiveAt: base, SourceIP: "192.0.2.1"}
	must(t, s.Register(ctx, bare))
	if got, err := s.Get(ctx, "bare"); err != nil || !sameConn(got, bare) {
		t.Fatalf("Get(bare) = %+v, %v; want %+v", got, err, bare)
	}
}

func testRegisterRejectsBadInput(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	if err := s.Register(ctx, conn("", "node-1", "")); err == nil {
		t.Error("Register with empty id: no error")
	}
	if err := s.Register(ctx, conn("c1", "", "")); err == nil {
		t.Error("Register with empty node: no error")
	}
}

func testUserConnsAcrossNodes(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	must(t, s.Register(ctx, conn("a1", "node-a", "alice")))
	must(t, s.Register(ctx, conn("a2", "node-b", "alice")))
	must(t, s.Register(ctx, conn("b1", "node-a", "bob")))
	must(t, s.Register(ctx, conn("anon", "node-a", "")))

	cs, err := s.UserConns(ctx, "alice")
	must(t, err)
	if got := ids(cs); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("UserConns(alice) = %v, want [a1 a2]", got)
	}
	nodes := map[string]string{}
	for _, c := range cs {
		nodes[c.ID] = c.Node
	}
	if nodes["a1"] != "node-a" || nodes["a2"] != "node-b" {
		t.Fatalf("UserConns(alice) nodes = %v", nodes)
	}
	_, _, err = s.Unregister(ctx, "a1")
	must(t, err)
	cs, err = s.UserConns(ctx, "alice")
	must(t, err)
	if got := ids(cs); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("UserConns(alice) after unregister a1 = %v, want [a2]", got)
	}
	cs, err = s.UserConns(ctx, "nobody")
	if err != nil || len(cs) != 0 {
		t.Fatalf("UserConns(nobody) = %v, %v; want empty, nil", cs, err)
	}
}

func testPresence(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	must(t, s.Register(ctx, conn("p1", "node-a", "carol")))
	must(t, s.Register(ctx, conn("p2", "node-b", "carol")))
	touched := base.Add(5 * time.Second)
	must(t, s.Touch(ctx, map[string]time.Time{"p2": touched}))

	ps, err := s.Presence(ctx, []string{"nobody", "carol"})
	must(t, err)
	if len(ps) != 2 || ps[0].UserID != "nobody" || ps[1].UserID != "carol" {
		t.Fatalf("Presence order = %+v, want nobody then carol", ps)
	}
	if ps[0].Online || ps[0].Connections != 0 || !ps[0].LastActiveAt.IsZero() {
		t.Fatalf("Presence(nobody) = %+v, want offline with zero time", ps[0])
	}
	if !ps[1].Online || ps[1].Connections != 2 || !ps[1].LastActiveAt.Equal(touched) {
		t.Fatalf("Presence(carol) = %+v, want online, 2 connections, lastActiveAt %v", ps[1], touched)
	}

	for _, id := range []string{"p1", "p2"} {
		_, _, err := s.Unregister(ctx, id)
		must(t, err)
	}
	ps, err = s.Presence(ctx, []string{"carol"})
	must(t, err)
	if ps[0].Online || ps[0].Connections != 0 {
		t.Fatalf("Presence(carol) after last close = %+v, want offline", ps[0])
	}
	if ps[0].LastActiveAt.Before(touched) {
		t.Fatalf("Presence(carol).LastActiveAt after last close = %v, want at least %v (kept after going offline)", ps[0].LastActiveAt, touched)
	}
}

func testOnlineUsersPaging(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	const users = 250
	want := map[string]bool{}
	for i := range users {
		u := fmt.Sprintf("user-%03d", i)
		want[u] = true
		must(t, s.Register(ctx, conn("c-"+u, "node-a", u)))
		if i%10 == 0 { // some users have two connections
			must(t, s.Register(ctx, conn("c2-"+u, "node-b", u)))
		}
	}
	// Users who went offline must not be listed.
	for i := range 20 {
		u := fmt.Sprintf("gone-%02d", i)
		must(t, s.Register(ctx, conn("c-"+u, "node-a", u)))
		_, _, err := s.Unregister(ctx, "c-"+u)
		must(t, err)
	}

	seen := map[string]int{}
	cur := ""
	for pages := 0; ; pages++ {
		if pages > users {
			t.Fatalf("cursor walk did not end after %d pages", pages)
		}
		page, next, err := s.OnlineUsers(ctx, cur, 100)
		must(t, err)
		if len(page) > 100 {
			t.Fatalf("page of %d users, limit 100", len(page))
		}
		for _, p := range page {
			seen[p.UserID]++
			wantConns := 1
			if p.UserID[len(p.UserID)-1] == '0' {
				wantConns = 2
			}
			if !p.Online || p.Connections != wantConns || !p.LastActiveAt.Equal(base) {
				t.Errorf("page entry %+v, want online, %d connection(s), lastActiveAt %v", p, wantConns, base)
			}
		}
		if next == "" {
			break
		}
		cur = next
	}
	for u, n := range seen {
		if !want[u] {
			t.Errorf("OnlineUsers listed %q, which is not online", u)
		} else if n != 1 {
			t.Errorf("OnlineUsers listed %q %d times, want once", u, n)
		}
	}
	if len(seen) != users {
		t.Errorf("OnlineUsers walk found %d users, want %d", len(seen), users)
	}

	// A limit larger than the population returns everyone on one page with no next cursor.
	page, next, err := s.OnlineUsers(ctx, "", 1000)
	must(t, err)
	if len(page) != users || next != "" {
		t.Fatalf("OnlineUsers(limit 1000) = %d users, next %q; want %d, \"\"", len(page), next, users)
	}
}

func testOnlineUsersBadInput(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	if _, _, err := s.OnlineUsers(ctx, "", 0); err == nil {
		t.Error("OnlineUsers(limit 0): no error")
	}
	if _, _, err := s.OnlineUsers(ctx, "not a cursor", 10); err == nil {
		t.Error("OnlineUsers(bad cursor): no error")
	}
	page, next, err := s.OnlineUsers(ctx, "", 10)
	if err != nil || len(page) != 0 || next != "" {
		t.Errorf("OnlineUsers on an empty store = %v, %q, %v; want empty, \"\", nil", page, next, err)
	}
}

func testGroups(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	must(t, s.Register(ctx, conn("g1", "node-a", "u1")))
	must(t, s.Register(ctx, conn("g2", "node-b", "u2")))

	if err := s.Join(ctx, "missing", "room"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Join(unknown conn) err = %v, want ErrNotFound", err)
	}
	must(t, s.Join(ctx, "g1", "room"))
	must(t, s.Join(ctx, "g1", "room")) // twice is one membership
	must(t, s.Join(ctx, "g2", "room"))
	must(t, s.Join(ctx, "g1", "other"))

	members, err := s.GroupMembers(ctx, "room")
	must(t, err)
	if got := ids(members); !slices.Equal(got, []string{"g1", "g2"}) {
		t.Fatalf("GroupMembers(room) = %v, want [g1 g2]", got)
	}
	groups, err := s.ConnGroups(ctx, "g1")
	must(t, err)
	slices.Sort(groups)
	if !slices.Equal(groups, []string{"other", "room"}) {
		t.Fatalf("ConnGroups(g1) = %v, want [other room]", groups)
	}
	if _, err := s.ConnGroups(ctx, "missing"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("ConnGroups(unknown) err = %v, want ErrNotFound", err)
	}

	must(t, s.Leave(ctx, "g1", "room"))
	must(t, s.Leave(ctx, "g1", "room"))      // leaving again is no error
	must(t, s.Leave(ctx, "g2", "never"))     // nor is leaving a group one never joined
	must(t, s.Leave(ctx, "missing", "room")) // nor an unknown connection
	members, err = s.GroupMembers(ctx, "room")
	must(t, err)
	if got := ids(members); !slices.Equal(got, []string{"g2"}) {
		t.Fatalf("GroupMembers(room) after leave = %v, want [g2]", got)
	}
	groups, err = s.ConnGroups(ctx, "g1")
	must(t, err)
	if !slices.Equal(groups, []string{"other"}) {
		t.Fatalf("ConnGroups(g1) after leave = %v, want [other]", groups)
	}
	members, err = s.GroupMembers(ctx, "empty")
	if err != nil || len(members) != 0 {
		t.Fatalf("GroupMembers(empty) = %v, %v; want empty, nil", members, err)
	}
}

func testUnregisterLeavesGroups(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	must(t, s.Register(ctx, conn("u1", "node-a", "")))
	must(t, s.Register(ctx, conn("u2", "node-a", "")))
	for _, g := range []string{"a", "b"} {
		must(t, s.Join(ctx, "u1", g))
		must(t, s.Join(ctx, "u2", g))
	}
	_, _, err := s.Unregister(ctx, "u1")
	must(t, err)
	for _, g := range []string{"a", "b"} {
		members, err := s.GroupMembers(ctx, g)
		must(t, err)
		if got := ids(members); !slices.Equal(got, []string{"u2"}) {
			t.Fatalf("GroupMembers(%s) after Unregister(u1) = %v, want [u2]", g, got)
		}
	}
	// The same id registered again starts with no groups.
	must(t, s.Register(ctx, conn("u1", "node-a", "")))
	groups, err := s.ConnGroups(ctx, "u1")
	must(t, err)
	if len(groups) != 0 {
		t.Fatalf("ConnGroups of a re-registered id = %v, want none", groups)
	}
}

func testTouch(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	must(t, s.Register(ctx, conn("t1", "node-a", "dave")))
	must(t, s.Register(ctx, conn("t2", "node-a", "")))
	later := base.Add(time.Minute)
	must(t, s.Touch(ctx, map[string]time.Time{"t1": later, "t2": base.Add(time.Second), "gone": later}))

	c, err := s.Get(ctx, "t1")
	must(t, err)
	if !c.LastActiveAt.Equal(later) {
		t.Fatalf("t1 LastActiveAt = %v, want %v", c.LastActiveAt, later)
	}
	c, err = s.Get(ctx, "t2")
	must(t, err)
	if !c.LastActiveAt.Equal(base.Add(time.Second)) {
		t.Fatalf("t2 LastActiveAt = %v, want %v", c.LastActiveAt, base.Add(time.Second))
	}
	ps, err := s.Presence(ctx, []string{"dave"})
	must(t, err)
	if !ps[0].LastActiveAt.Equal(later) {
		t.Fatalf("Presence(dave).LastActiveAt = %v, want %v", ps[0].LastActiveAt, later)
	}
	// Never backwards.
	must(t, s.Touch(ctx, map[string]time.Time{"t1": base}))
	c, err = s.Get(ctx, "t1")
	must(t, err)
	if !c.LastActiveAt.Equal(later) {
		t.Fatalf("t1 LastActiveAt after an older Touch = %v, want %v", c.LastActiveAt, later)
	}
	// Touching an id that has closed must not bring it back.
	if _, err := s.Get(ctx, "gone"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get(gone) after Touch err = %v, want ErrNotFound", err)
	}
	must(t, s.Touch(ctx, nil))
}

// expire makes leases of ttl lapse: instantly on a store with an Advancer clock, otherwise by
// polling cond until it holds.
func expire(t *testing.T, s registry.Store, ttl time.Duration, cond func() bool) {
	t.Helper()
	if a, ok := s.(Advancer); ok {
		a.Advance(ttl + time.Millisecond)
	}
	deadline := time.Now().Add(pollTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("lease of %v did not expire within %v", ttl, pollTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testNodeLeases(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	const ttl = time.Second
	must(t, s.Heartbeat(ctx, "node-a", ttl))
	must(t, s.Heartbeat(ctx, "node-b", time.Hour))
	nodes, err := s.Nodes(ctx)
	must(t, err)
	slices.Sort(nodes)
	if !slices.Equal(nodes, []string{"node-a", "node-b"}) {
		t.Fatalf("Nodes = %v, want [node-a node-b]", nodes)
	}
	must(t, s.Register(ctx, conn("n1", "node-a", "eve")))
	must(t, s.Register(ctx, conn("n2", "node-a", "")))
	must(t, s.Register(ctx, conn("n3", "node-b", "")))
	must(t, s.Join(ctx, "n1", "room"))

	dead, err := s.DeadNodes(ctx)
	must(t, err)
	if len(dead) != 0 {
		t.Fatalf("DeadNodes with live leases = %v, want none", dead)
	}
	if ok, err := s.ClaimDeadNode(ctx, "node-a", "node-b", time.Minute); err != nil || ok {
		t.Fatalf("ClaimDeadNode of a live node = %v, %v; want false, nil", ok, err)
	}
	cs, err := s.NodeConns(ctx, "node-a")
	must(t, err)
	if got := ids(cs); !slices.Equal(got, []string{"n1", "n2"}) {
		t.Fatalf("NodeConns(node-a) = %v, want [n1 n2]", got)
	}

	expire(t, s, ttl, func() bool {
		nodes, err := s.Nodes(ctx)
		must(t, err)
		return !slices.Contains(nodes, "node-a")
	})
	nodes, err = s.Nodes(ctx)
	must(t, err)
	if !slices.Equal(nodes, []string{"node-b"}) {
		t.Fatalf("Nodes after node-a's lease expired = %v, want [node-b]", nodes)
	}
	dead, err = s.DeadNodes(ctx)
	must(t, err)
	if !slices.Equal(dead, []string{"node-a"}) {
		t.Fatalf("DeadNodes = %v, want [node-a]", dead)
	}

	// The survivor's cleanup: claim, then unregister every connection of the dead node.
	ok, err := s.ClaimDeadNode(ctx, "node-a", "node-b", time.Minute)
	must(t, err)
	if !ok {
		t.Fatal("ClaimDeadNode of a dead node by the first claimant = false")
	}
	if ok, err := s.ClaimDeadNode(ctx, "node-a", "node-b", time.Minute); err != nil || !ok {
		t.Fatalf("renewing one's own claim = %v, %v; want true", ok, err)
	}
	cs, err = s.NodeConns(ctx, "node-a")
	must(t, err)
	for _, c := range cs {
		_, _, err := s.Unregister(ctx, c.ID)
		must(t, err)
	}
	dead, err = s.DeadNodes(ctx)
	must(t, err)
	if len(dead) != 0 {
		t.Fatalf("DeadNodes after cleanup = %v, want none", dead)
	}
	if ps, err := s.Presence(ctx, []string{"eve"}); err != nil || ps[0].Online {
		t.Fatalf("Presence(eve) after cleanup = %+v, %v; want offline", ps, err)
	}
	if members, err := s.GroupMembers(ctx, "room"); err != nil || len(members) != 0 {
		t.Fatalf("GroupMembers(room) after cleanup = %v, %v; want empty", members, err)
	}
	cs, err = s.NodeConns(ctx, "node-b")
	must(t, err)
	if got := ids(cs); !slices.Equal(got, []string{"n3"}) {
		t.Fatalf("NodeConns(node-b) = %v, want [n3]", got)
	}

	// A heartbeat brings a node back.
	must(t, s.Heartbeat(ctx, "node-a", time.Hour))
	nodes, err = s.Nodes(ctx)
	must(t, err)
	if !slices.Contains(nodes, "node-a") {
		t.Fatalf("Nodes after node-a's heartbeat = %v, want it listed", nodes)
	}
	if err := s.Heartbeat(ctx, "", time.Second); err == nil {
		t.Error("Heartbeat with empty node: no error")
	}
}

// A node that stalled past its lease learns, once, that a survivor claimed its cleanup; a lapse
// nobody claimed (a store restart looks the same to the node) is not reported.
func testReaped(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	const ttl = time.Second
	reaped := func(want bool, when string) {
		t.Helper()
		got, err := s.Reaped(ctx, "stalled")
		must(t, err)
		if got != want {
			t.Fatalf("Reaped(stalled) %s = %v, want %v", when, got, want)
		}
	}
	must(t, s.Heartbeat(ctx, "stalled", ttl))
	must(t, s.Register(ctx, conn("r1", "stalled", "")))
	reaped(false, "while its lease is live")
	if ok, err := s.ClaimDeadNode(ctx, "stalled", "survivor", time.Minute); err != nil || ok {
		t.Fatalf("ClaimDeadNode of a live node = %v, %v; want false, nil", ok, err)
	}
	reaped(false, "after a refused claim")

	expire(t, s, ttl, func() bool {
		dead, err := s.DeadNodes(ctx)
		must(t, err)
		return slices.Contains(dead, "stalled")
	})
	reaped(false, "after its lease lapsed with no claim")
	if ok, err := s.ClaimDeadNode(ctx, "stalled", "survivor", time.Minute); err != nil || !ok {
		t.Fatalf("ClaimDeadNode of a dead node = %v, %v; want true, nil", ok, err)
	}
	if ok, err := s.ClaimDeadNode(ctx, "stalled", "survivor", time.Minute); err != nil || !ok {
		t.Fatalf("renewing one's own claim = %v, %v; want true, nil", ok, err)
	}
	must(t, s.Heartbeat(ctx, "stalled", time.Hour)) // it wakes up: its heartbeat comes first
	reaped(true, "after a survivor claimed it (the heartbeat must not clear that)")
	reaped(false, "a second time")
	must(t, s.Heartbeat(ctx, "stalled", time.Hour))
	reaped(false, "after a later heartbeat")
	if _, err := s.Reaped(ctx, ""); err == nil {
		t.Error("Reaped with empty node: no error")
	}
}

func testClaimOneWinner(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	const ttl = time.Second
	must(t, s.Heartbeat(ctx, "dying", ttl))
	must(t, s.Register(ctx, conn("d1", "dying", "")))
	expire(t, s, ttl, func() bool {
		dead, err := s.DeadNodes(ctx)
		must(t, err)
		return slices.Equal(dead, []string{"dying"})
	})

	const claimants = 8
	var wg sync.WaitGroup
	results := make([]bool, claimants)
	errs := make([]error, claimants)
	for i := range claimants {
		wg.Go(func() {
			results[i], errs[i] = s.ClaimDeadNode(ctx, "dying", fmt.Sprintf("survivor-%d", i), time.Minute)
		})
	}
	wg.Wait()
	winners := 0
	for i := range claimants {
		must(t, errs[i])
		if results[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d claimants won ClaimDeadNode, want exactly 1", winners)
	}
}

func testConcurrent(t *testing.T, s registry.Store) {
	ctx := ctxT(t)
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				user := fmt.Sprintf("user-%d", i%5) // users shared between workers
				if err := s.Register(ctx, conn(id, fmt.Sprintf("node-%d", w), user)); err != nil {
					errs <- err
					return
				}
				if err := s.Join(ctx, id, "all"); err != nil {
					errs <- err
					return
				}
				if err := s.Touch(ctx, map[string]time.Time{id: base.Add(time.Duration(i) * time.Millisecond)}); err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					if _, ok, err := s.Unregister(ctx, id); err != nil || !ok {
						errs <- fmt.Errorf("unregister %s: %v %v", id, ok, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	members, err := s.GroupMembers(ctx, "all")
	must(t, err)
	if got, want := len(members), workers*(each/2); got != want {
		t.Fatalf("GroupMembers(all) = %d connections, want %d", got, want)
	}
	total := map[string]bool{}
	for u := range 5 {
		cs, err := s.UserConns(ctx, fmt.Sprintf("user-%d", u))
		must(t, err)
		for _, c := range cs {
			total[c.ID] = true
		}
	}
	if len(total) != workers*(each/2) {
		t.Fatalf("UserConns over all users = %d connections, want %d: %v", len(total), workers*(each/2), slices.Sorted(maps.Keys(total)))
	}
}
