package server_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// usersAPI: JWT users (?Authorization=), a recorded Lambda for $disconnect, the whoami route,
// and SigV4 credentials on the management API.
const usersAPI = `
routes:
  $connect: { authorizer: jwt }
  $disconnect: { integration: fn }
  $default: { integration: fn }
` + "  whoami: { integration: whoami, routeResponse: true }" + `
integrations:
  fn: { type: AWS_PROXY, uri: chat-handler, endpoint: "%s" }
` + "  whoami: { type: MOCK, requestTemplates: { $default: '{\"statusCode\": 200}' }, responses: { $default: { templates: { $default: '$context.connectionId $context.userId' } } } }" + `
authorizers:
  jwt: { type: JWT, identitySource: route.request.querystring.Authorization, secret: "%s", userIdClaim: userId }
` + mgmtCredentials

func startUsersNode(t *testing.T) (*servertest.Node, *harness.Lambda) {
	t.Helper()
	fn := harness.NewProxyLambda(t, func(events.APIGatewayWebsocketProxyRequest) (int, string) { return 200, "" })
	return servertest.Start(t, fmt.Sprintf(usersAPI, fn.URL(), testJWTSecret)), fn
}

// dialUser opens a connection as uid and waits until the gateway serves it (whoami answered),
// so that it is registered before the test pushes to it.
func dialUser(t *testing.T, n *servertest.Node, uid string) (*websocket.Conn, string) {
	t.Helper()
	c := dial(t, n.WS("/dev?Authorization="+hs256(t, testJWTSecret, userClaims(uid))))
	id, got := whoami(t, c)
	if got != uid {
		t.Fatalf("connection of %s has userId %q", uid, got)
	}
	return c, id
}

func getPresence(t *testing.T, n *servertest.Node, query string) usersPage {
	t.Helper()
	r := mgmt(t, n, "GET", "/@users"+query, "")
	if r.status != 200 {
		t.Fatalf("GET /@users%s = %d %s", query, r.status, r.body)
	}
	var p usersPage
	r.json(t, &p)
	return p
}

func disconnects(fn *harness.Lambda) int {
	k := 0
	for _, ev := range fn.ProxyEvents() {
		if ev.RequestContext.RouteKey == "$disconnect" {
			k++
		}
	}
	return k
}

// A user with three connections gets one POST on all three; presence reports them; DELETE
// closes all three (close frame, $disconnect each); then presence is offline with lastActiveAt
// kept, and the user is gone (410).
func TestUserFanoutPresenceAndLogoutEverywhere(t *testing.T) {
	n, fn := startUsersNode(t)
	var conns []*websocket.Conn
	for range 3 {
		c, _ := dialUser(t, n, "1234")
		conns = append(conns, c)
	}
	other, _ := dialUser(t, n, "5678")

	r := mgmt(t, n, "POST", "/@users/1234", `{"msg":"to every tab"}`)
	if r.status != 200 {
		t.Fatalf("POST /@users/1234 = %d %s", r.status, r.body)
	}
	var delivered struct {
		UserID    string `json:"userId"`
		Delivered int    `json:"delivered"`
	}
	r.json(t, &delivered)
	if delivered.UserID != "1234" || delivered.Delivered != 3 || r.header.Get("x-amzn-RequestId") == "" {
		t.Fatalf("answer %s (%v), want userId 1234 delivered 3 and a request id", r.body, r.header)
	}
	for i, c := range conns {
		if got := read(t, c); got != `{"msg":"to every tab"}` {
			t.Fatalf("connection %d got %q", i, got)
		}
	}
	// The other user got nothing: its next frame is its own whoami answer.
	if _, uid := whoami(t, other); uid != "5678" {
		t.Fatalf("other user's connection saw the push: whoami = %q", uid)
	}

	p := getPresence(t, n, "?ids=1234,nobody")
	if len(p.Users) != 2 || p.NextCursor != "" {
		t.Fatalf("presence = %+v, want two users in the order asked", p)
	}
	u, nobody := p.Users[0], p.Users[1]
	if u.UserID != "1234" || !u.Online || u.Connections != 3 || u.LastActiveAt == nil {
		t.Errorf("user 1234 = %+v, want online with 3 connections and a lastActiveAt", u)
	}
	if nobody.UserID != "nobody" || nobody.Online || nobody.Connections != 0 || nobody.LastActiveAt != nil {
		t.Errorf("unknown user = %+v, want offline, 0 connections, no lastActiveAt", nobody)
	}
	one := mgmt(t, n, "GET", "/@users/1234", "")
	var single presence
	one.json(t, &single)
	if one.status != 200 || single.UserID != "1234" || single.Connections != 3 || !single.Online {
		t.Errorf("GET /@users/1234 = %d %s", one.status, one.body)
	}

	before := disconnects(fn)
	r = mgmt(t, n, "DELETE", "/@users/1234", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"disconnected":3`) {
		t.Fatalf("DELETE /@users/1234 = %d %s, want 200 with disconnected 3", r.status, r.body)
	}
	for i, c := range conns {
		if code, reason := readClose(t, c); code != websocket.StatusNormalClosure || reason != "User disconnected" {
			t.Errorf("connection %d closed with %d %q, want 1000 \"User disconnected\"", i, code, reason)
		}
	}
	harness.Eventually(t, "three $disconnect events", func() bool { return disconnects(fn)-before == 3 })

	var off presence
	harness.Eventually(t, "user 1234 offline", func() bool {
		off = getPresence(t, n, "?ids=1234").Users[0]
		return !off.Online
	})
	if off.Connections != 0 || off.LastActiveAt == nil {
		t.Fatalf("offline presence = %+v, want 0 connections and lastActiveAt kept", off)
	}
	last, err := time.Parse("2006-01-02T15:04:05.000Z", *off.LastActiveAt)
	if err != nil || time.Since(last) > time.Minute || time.Since(last) < 0 {
		t.Errorf("lastActiveAt %q: %v, want a recent ISO-8601 UTC time with milliseconds", *off.LastActiveAt, err)
	}
	for _, m := range []string{"POST", "DELETE"} {
		r := mgmt(t, n, m, "/@users/1234", "x")
		if r.status != 410 || r.header.Get("X-Amzn-ErrorType") != "GoneException" {
			t.Errorf("%s to an offline user = %d %s %v, want 410 GoneException", m, r.status, r.body, r.header)
		}
	}
	// The other user is untouched.
	if p := getPresence(t, n, "?ids=5678").Users[0]; !p.Online || p.Connections != 1 {
		t.Errorf("user 5678 = %+v after deleting 1234", p)
	}
}

// Presence goes offline with lastActiveAt when the last socket closes by itself (not through
// the API), and stays online while one connection is left.
func TestPresenceAfterLastSocketCloses(t *testing.T) {
	n, _ := startUsersNode(t)
	a, _ := dialUser(t, n, "ann")
	b, _ := dialUser(t, n, "ann")
	if p := getPresence(t, n, "?ids=ann").Users[0]; !p.Online || p.Connections != 2 {
		t.Fatalf("ann = %+v, want online with 2", p)
	}
	_ = a.Close(websocket.StatusNormalClosure, "")
	harness.Eventually(t, "ann down to one connection", func() bool {
		return getPresence(t, n, "?ids=ann").Users[0].Connections == 1
	})
	if p := getPresence(t, n, "?ids=ann").Users[0]; !p.Online {
		t.Fatalf("ann = %+v with one connection left", p)
	}
	_ = b.Close(websocket.StatusNormalClosure, "")
	var p presence
	harness.Eventually(t, "ann offline", func() bool {
		p = getPresence(t, n, "?ids=ann").Users[0]
		return !p.Online
	})
	if p.Connections != 0 || p.LastActiveAt == nil {
		t.Fatalf("ann after the last close = %+v, want lastActiveAt kept", p)
	}
	// Offline users are not listed as online.
	if list := getPresence(t, n, ""); len(list.Users) != 0 {
		t.Fatalf("online list = %+v, want empty", list)
	}
}

// GET /@users lists online users a page at a time: limit=2 over 5 users visits each once.
func TestOnlineUsersPagination(t *testing.T) {
	n, _ := startUsersNode(t)
	want := []string{"u1", "u2", "u3", "u4", "u5"}
	for _, u := range want {
		dialUser(t, n, u)
	}
	dialUser(t, n, "u3") // a second connection must not list u3 twice

	seen := map[string]int{}
	query, pages := "?limit=2", 0
	for {
		p := getPresence(t, n, query)
		pages++
		if len(p.Users) > 2 {
			t.Fatalf("page of %d users with limit=2", len(p.Users))
		}
		for _, u := range p.Users {
			seen[u.UserID]++
			wantConns := 1
			if u.UserID == "u3" {
				wantConns = 2
			}
			if !u.Online || u.Connections != wantConns || u.LastActiveAt == nil {
				t.Errorf("listed %+v", u)
			}
		}
		if p.NextCursor == "" {
			break
		}
		if pages > 10 {
			t.Fatalf("pagination does not end: %v", seen)
		}
		query = "?limit=2&cursor=" + url.QueryEscape(p.NextCursor)
	}
	var got []string
	for u, k := range seen {
		if k != 1 {
			t.Errorf("user %s listed %d times", u, k)
		}
		got = append(got, u)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("listed %v, want %v", got, want)
	}
	if pages < 3 {
		t.Fatalf("%d pages for 5 users with limit=2", pages)
	}
	for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x"} {
		if r := mgmt(t, n, "GET", "/@users"+q, ""); r.status != 400 || r.header.Get("X-Amzn-ErrorType") != "BadRequestException" {
			t.Errorf("GET /@users%s = %d %s, want 400 BadRequestException", q, r.status, r.body)
		}
	}
}

// Groups: members join by PUT, a group send reaches members only, GET lists them, a closed
// connection leaves its groups, and broadcast reaches everyone.
func TestGroupsAndBroadcast(t *testing.T) {
	n, _ := startUsersNode(t)
	a, idA := dialUser(t, n, "ann")
	b, idB := dialUser(t, n, "bob")
	c, _ := dialUser(t, n, "cid")

	for _, id := range []string{idA, idB} {
		if r := mgmt(t, n, "PUT", "/@connections/"+url.PathEscape(id)+"/groups/room1", ""); r.status != 204 {
			t.Fatalf("join %s = %d %s", id, r.status, r.body)
		}
	}
	// Joining twice is harmless; an unknown connection is gone.
	if r := mgmt(t, n, "PUT", "/@connections/"+url.PathEscape(idA)+"/groups/room1", ""); r.status != 204 {
		t.Fatalf("second join = %d %s", r.status, r.body)
	}
	if r := mgmt(t, n, "PUT", "/@connections/AAAAAAAAAAAAAAA=/groups/room1", ""); r.status != 410 {
		t.Fatalf("join of an unknown connection = %d %s, want 410", r.status, r.body)
	}

	members := func() map[string]string {
		r := mgmt(t, n, "GET", "/@groups/room1", "")
		if r.status != 200 {
			t.Fatalf("GET /@groups/room1 = %d %s", r.status, r.body)
		}
		var g struct {
			Group       string `json:"group"`
			Connections []struct {
				ConnectionID string `json:"connectionId"`
				UserID       string `json:"userId"`
				ConnectedAt  string `json:"connectedAt"`
			} `json:"connections"`
		}
		r.json(t, &g)
		if g.Group != "room1" || g.Connections == nil {
			t.Fatalf("group answer %s", r.body)
		}
		m := map[string]string{}
		for _, c := range g.Connections {
			if _, err := time.Parse("2006-01-02T15:04:05.000Z", c.ConnectedAt); err != nil {
				t.Errorf("connectedAt %q: %v", c.ConnectedAt, err)
			}
			m[c.ConnectionID] = c.UserID
		}
		return m
	}
	if m := members(); len(m) != 2 || m[idA] != "ann" || m[idB] != "bob" {
		t.Fatalf("members = %v, want ann's and bob's connections", m)
	}

	r := mgmt(t, n, "POST", "/@groups/room1", "to room1")
	if r.status != 200 || string(r.body) != `{"group":"room1","delivered":2}` {
		t.Fatalf("POST /@groups/room1 = %d %s", r.status, r.body)
	}
	for _, ws := range []*websocket.Conn{a, b} {
		if got := read(t, ws); got != "to room1" {
			t.Fatalf("member got %q", got)
		}
	}
	if _, uid := whoami(t, c); uid != "cid" { // c's next frame is its own answer: no group message
		t.Fatalf("non-member saw the group message")
	}

	// Leaving by DELETE, then joining again.
	if r := mgmt(t, n, "DELETE", "/@connections/"+url.PathEscape(idB)+"/groups/room1", ""); r.status != 204 {
		t.Fatalf("leave = %d %s", r.status, r.body)
	}
	if m := members(); len(m) != 1 || m[idA] != "ann" {
		t.Fatalf("members after bob left = %v", m)
	}
	if r := mgmt(t, n, "PUT", "/@connections/"+url.PathEscape(idB)+"/groups/room1", ""); r.status != 204 {
		t.Fatalf("rejoin = %d", r.status)
	}

	// A connection that ends leaves every group.
	if r := mgmt(t, n, "PUT", "/@connections/"+url.PathEscape(idA)+"/groups/room2", ""); r.status != 204 {
		t.Fatalf("join room2 = %d", r.status)
	}
	_ = a.Close(websocket.StatusNormalClosure, "")
	harness.Eventually(t, "ann's connection to leave room1", func() bool { _, in := members()[idA]; return !in })
	if m := members(); len(m) != 1 || m[idB] != "bob" {
		t.Fatalf("members after ann closed = %v", m)
	}
	r = mgmt(t, n, "GET", "/@groups/room2", "")
	if r.status != 200 || string(r.body) != `{"group":"room2","connections":[]}` {
		t.Fatalf("empty group = %d %s", r.status, r.body)
	}
	r = mgmt(t, n, "POST", "/@groups/room1", "again")
	if r.status != 200 || string(r.body) != `{"group":"room1","delivered":1}` {
		t.Fatalf("POST after a member left = %d %s", r.status, r.body)
	}
	if got := read(t, b); got != "again" {
		t.Fatalf("bob got %q", got)
	}

	r = mgmt(t, n, "POST", "/@broadcast", "everyone")
	var bc struct {
		Delivered int `json:"delivered"`
	}
	r.json(t, &bc)
	if r.status != 200 || bc.Delivered != 2 {
		t.Fatalf("broadcast = %d %s, want delivered 2", r.status, r.body)
	}
	for _, ws := range []*websocket.Conn{b, c} {
		if got := read(t, ws); got != "everyone" {
			t.Fatalf("broadcast got %q", got)
		}
	}
}

// The extensions are protected like @connections: unsigned or wrongly signed calls get 403,
// and names that break the rules get 400.
func TestExtensionsNeedSignature(t *testing.T) {
	n, _ := startUsersNode(t)
	_, id := dialUser(t, n, "ann")
	for _, tc := range []struct{ method, path string }{
		{"POST", "/@users/ann"}, {"GET", "/@users?ids=ann"}, {"DELETE", "/@users/ann"},
		{"PUT", "/@connections/" + url.PathEscape(id) + "/groups/g"}, {"POST", "/@groups/g"},
		{"GET", "/@groups/g"}, {"POST", "/@broadcast"},
	} {
		r := mgmtSigned(t, n, tc.method, tc.path, "x", false)
		if r.status != 403 || r.header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
			t.Errorf("unsigned %s %s = %d %s, want 403 MissingAuthenticationTokenException", tc.method, tc.path, r.status, r.body)
		}
	}
	if p := getPresence(t, n, "?ids=ann").Users[0]; !p.Online {
		t.Fatalf("the unsigned DELETE disconnected ann: %+v", p)
	}
	r := mgmt(t, n, "POST", "/@users/"+url.PathEscape("has space"), "x")
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(r.body, &e)
	if r.status != 400 || r.header.Get("X-Amzn-ErrorType") != "BadRequestException" || e.Message == "" {
		t.Errorf("bad user id = %d %s, want 400 BadRequestException with a message", r.status, r.body)
	}
}
