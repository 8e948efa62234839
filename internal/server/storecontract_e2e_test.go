package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

// The delivery contract of the management API (connection, user, group, broadcast, 410) holds
// the same with the memory store on one node and with the Redis store across two in-process
// nodes, where every call is made on the node that does not hold the socket.
func TestStoreDeliveryContract(t *testing.T) {
	const api = `
authorizers:
  jwt: { type: JWT, identitySource: route.request.querystring.token, secret: "` + testJWTSecret + `", userIdClaim: userId }
routes:
  $connect: { authorizer: jwt }
` + "  whoami: { integration: whoami, routeResponse: true }\nintegrations:\n" + whoamiIntegration

	topologies := []struct {
		name  string
		nodes func(t *testing.T) (home, other *node)
	}{
		{"memory", func(t *testing.T) (*node, *node) {
			n := startNode(t, api)
			return n, n
		}},
		{"redis-two-nodes", func(t *testing.T) (*node, *node) {
			r := testredis.Start(t)
			store := fmt.Sprintf("store: { type: redis, url: %q, prefix: c%d, nodeLeaseTtl: 2s }\n", r.URL(), len(t.Name()))
			return startNode(t, store+api), startNode(t, store+api)
		}},
		// The same two nodes on a 3-master Redis Cluster (store.url is the seed list) and on
		// Sentinel (?master_name=): every store key, script and stream must stay within one
		// slot, and the client the node builds must follow the topology.
		{"redis-cluster-two-nodes", func(t *testing.T) (*node, *node) {
			c := testredis.StartCluster(t, 3)
			store := fmt.Sprintf("store: { type: redis, url: %q, prefix: k, nodeLeaseTtl: 2s }\n", c.URL())
			return startNode(t, store+api), startNode(t, store+api)
		}},
		{"redis-sentinel-two-nodes", func(t *testing.T) (*node, *node) {
			s := testredis.StartSentinel(t)
			store := fmt.Sprintf("store: { type: redis, url: %q, prefix: s, nodeLeaseTtl: 2s }\n", s.URL())
			return startNode(t, store+api), startNode(t, store+api)
		}},
	}
	cases := []struct {
		name string
		run  func(t *testing.T, home, other *node)
	}{
		{"connection", func(t *testing.T, home, other *node) {
			c, id := userConn(t, home, "ann")
			if r := mgmtSigned(t, other, "POST", "/@connections/"+esc(id), "one", false); r.status != 200 {
				t.Fatalf("POST = %d %s", r.status, r.body)
			}
			if got := read(t, c); got != "one" {
				t.Fatalf("got %q", got)
			}
			var info map[string]any
			r := mgmtSigned(t, other, "GET", "/@connections/"+esc(id), "", false)
			r.json(t, &info)
			if r.status != 200 || info["userId"] != "ann" || info["connectedAt"] == nil {
				t.Fatalf("GET = %d %s", r.status, r.body)
			}
			if r := mgmtSigned(t, other, "DELETE", "/@connections/"+esc(id), "", false); r.status != 204 {
				t.Fatalf("DELETE = %d %s", r.status, r.body)
			}
			if code, _ := readClose(t, c); code != websocket.StatusNormalClosure {
				t.Fatalf("closed with %d, want 1000", code)
			}
			waitFor(t, "410 after delete", func() bool {
				return mgmtSigned(t, other, "POST", "/@connections/"+esc(id), "x", false).status == 410
			})
		}},
		{"unknown id is 410 on every verb", func(t *testing.T, home, other *node) {
			for _, m := range []string{"POST", "GET", "DELETE"} {
				if r := mgmtSigned(t, other, m, "/@connections/AAAAAAAAAAAAAAA%3D", "x", false); r.status != 410 ||
					r.header.Get("X-Amzn-ErrorType") != "GoneException" {
					t.Errorf("%s unknown id = %d %s %q", m, r.status, r.header.Get("X-Amzn-ErrorType"), r.body)
				}
			}
			if r := mgmtSigned(t, other, "POST", "/@users/nobody", "x", false); r.status != 410 {
				t.Errorf("POST to an offline user = %d, want 410", r.status)
			}
		}},
		{"user", func(t *testing.T, home, other *node) {
			c1, _ := userConn(t, home, "bob")
			c2, _ := userConn(t, other, "bob")
			var out map[string]any
			r := mgmtSigned(t, other, "POST", "/@users/bob", "hi bob", false)
			r.json(t, &out)
			if r.status != 200 || out["delivered"] != float64(2) {
				t.Fatalf("POST @users/bob = %d %s", r.status, r.body)
			}
			for _, c := range []*websocket.Conn{c1, c2} {
				if got := read(t, c); got != "hi bob" {
					t.Fatalf("got %q", got)
				}
			}
		}},
		{"group", func(t *testing.T, home, other *node) {
			c1, id1 := userConn(t, home, "u1")
			_, _ = userConn(t, home, "u2") // not a member
			if r := mgmtSigned(t, other, "PUT", "/@connections/"+esc(id1)+"/groups/room", "", false); r.status != 204 {
				t.Fatalf("PUT group = %d %s", r.status, r.body)
			}
			var out map[string]any
			r := mgmtSigned(t, other, "POST", "/@groups/room", "hi room", false)
			r.json(t, &out)
			if r.status != 200 || out["delivered"] != float64(1) {
				t.Fatalf("POST @groups/room = %d %s", r.status, r.body)
			}
			if got := read(t, c1); got != "hi room" {
				t.Fatalf("got %q", got)
			}
			if r := mgmtSigned(t, other, "DELETE", "/@connections/"+esc(id1)+"/groups/room", "", false); r.status != 204 {
				t.Fatalf("leave = %d", r.status)
			}
			r = mgmtSigned(t, home, "POST", "/@groups/room", "nobody", false)
			r.json(t, &out)
			if out["delivered"] != float64(0) {
				t.Fatalf("POST to an emptied group = %s", r.body)
			}
		}},
		{"broadcast and order", func(t *testing.T, home, other *node) {
			c1, id1 := userConn(t, home, "b1")
			c2, _ := userConn(t, other, "b2")
			var out map[string]any
			r := mgmtSigned(t, other, "POST", "/@broadcast", "all", false)
			r.json(t, &out)
			if r.status != 200 || out["delivered"] != float64(2) {
				t.Fatalf("broadcast = %d %s", r.status, r.body)
			}
			for _, c := range []*websocket.Conn{c1, c2} {
				if got := read(t, c); got != "all" {
					t.Fatalf("got %q", got)
				}
			}
			for i := range 50 {
				n := []*node{home, other}[i%2]
				if r := mgmtSigned(t, n, "POST", "/@connections/"+esc(id1), fmt.Sprint(i), false); r.status != 200 {
					t.Fatalf("push %d = %d", i, r.status)
				}
			}
			for i := range 50 {
				if got := read(t, c1); got != fmt.Sprint(i) {
					t.Fatalf("push %d arrived as %q", i, got)
				}
			}
		}},
	}
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			home, other := topo.nodes(t)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					// Registered first, so it runs after the sockets' own cleanups: the next
					// case counts deliveries, so it must not see this case's sockets, whose
					// $disconnect and unregistering run after the client has gone.
					t.Cleanup(func() { waitNoOnlineUsers(t, other) })
					tc.run(t, home, other)
				})
			}
		})
	}
}

// waitNoOnlineUsers polls GET /@users until no user is online (every case's sockets are a
// user's).
func waitNoOnlineUsers(t *testing.T, n *node) {
	t.Helper()
	waitFor(t, "the case's connections to be unregistered", func() bool {
		var out struct{ Users []any }
		r := mgmtSigned(t, n, "GET", "/@users", "", false)
		r.json(t, &out)
		return r.status == 200 && len(out.Users) == 0
	})
}

// userConn opens a socket on n as user and returns it with its connection id.
func userConn(t *testing.T, n *node, user string) (*websocket.Conn, string) {
	t.Helper()
	c := dial(t, n.url("/dev?token="+hs256(t, testJWTSecret, userClaims(user))))
	id, uid := whoami(t, c)
	if uid != user {
		t.Fatalf("connection of %s has user %q", user, uid)
	}
	return c, id
}

func esc(id string) string { return strings.ReplaceAll(id, "=", "%3D") }
