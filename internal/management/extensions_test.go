package management

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/registry"
)

const (
	idA1 = "AAAAAAAAAAAAAAA=" // ann
	idA2 = "BBBBBBBBBBBBBBB=" // ann
	idB  = "CCCCCCCCCCCCCCC=" // bob
	idN  = "DDDDDDDDDDDDDDD=" // anonymous
)

var seenAt = time.Date(2024, 1, 20, 12, 0, 0, 0, time.UTC)

// extBackend holds two users online (ann twice, bob once), one anonymous connection, and carol,
// who was seen before but is offline now.
func extBackend() *memBackend {
	conn := func(id, user string) registry.Conn {
		return registry.Conn{ID: id, UserID: user, ConnectedAt: connectedAt, LastActiveAt: lastActiveAt, SourceIP: "127.0.0.1"}
	}
	b := newMemBackend(conn(idA1, "ann"), conn(idA2, "ann"), conn(idB, "bob"), conn(idN, ""))
	b.lastSeen["ann"] = registry.Presence{LastActiveAt: seenAt}
	b.lastSeen["carol"] = registry.Presence{LastActiveAt: seenAt}
	b.cursors["page2"] = "page3"
	return b
}

// TestExtensions runs every extension endpoint twice: signed with the SDK's v4.Signer against a
// verifying handler, and as plain HTTP from loopback with no credentials configured. Bodies are
// compared byte for byte: they are the documented contract.
func TestExtensions(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			b := extBackend()
			base := startServer(t, b, m.signed).URL + "/dev"
			type step struct {
				method, path, body string
				status             int
				want               string // exact body; "" means empty
			}
			steps := []step{
				{"POST", "/@users/ann", "hi ann", 200, `{"userId":"ann","delivered":2}`},
				{"POST", "/@users/carol", "x", 410, ""},
				{"POST", "/@users/nobody", "x", 410, ""},
				{"GET", "/@users/ann", "", 200, `{"userId":"ann","online":true,"connections":2,"lastActiveAt":"2024-01-20T12:00:00.000Z"}`},
				{"GET", "/@users/carol", "", 200, `{"userId":"carol","online":false,"connections":0,"lastActiveAt":"2024-01-20T12:00:00.000Z"}`},
				{"GET", "/@users/nobody", "", 200, `{"userId":"nobody","online":false,"connections":0}`},
				{"GET", "/@users?ids=ann,nobody,bob", "", 200, `{"users":[` +
					`{"userId":"ann","online":true,"connections":2,"lastActiveAt":"2024-01-20T12:00:00.000Z"},` +
					`{"userId":"nobody","online":false,"connections":0},` +
					`{"userId":"bob","online":true,"connections":1}]}`},
				{"GET", "/@users?limit=2&cursor=page2", "", 200, `{"users":[` +
					`{"userId":"ann","online":true,"connections":2,"lastActiveAt":"2024-01-20T12:00:00.000Z"},` +
					`{"userId":"bob","online":true,"connections":1}],"nextCursor":"page3"}`},
				{"PUT", "/@connections/" + idA1 + "/groups/room-1", "", 204, ""},
				{"PUT", "/%40connections/CCCCCCCCCCCCCCC%3D/groups/room-1", "", 204, ""},
				{"PUT", "/@connections/unknown%3D/groups/room-1", "", 410, ""},
				{"GET", "/@groups/room-1", "", 200, `{"group":"room-1","connections":[` +
					`{"connectionId":"AAAAAAAAAAAAAAA=","userId":"ann","connectedAt":"2024-01-20T11:55:00.123Z"},` +
					`{"connectionId":"CCCCCCCCCCCCCCC=","userId":"bob","connectedAt":"2024-01-20T11:55:00.123Z"}]}`},
				{"POST", "/@groups/room-1", "hi room", 200, `{"group":"room-1","delivered":2}`},
				{"DELETE", "/@connections/" + idB + "/groups/room-1", "", 204, ""},
				{"GET", "/@groups/room-1", "", 200, `{"group":"room-1","connections":[` +
					`{"connectionId":"AAAAAAAAAAAAAAA=","userId":"ann","connectedAt":"2024-01-20T11:55:00.123Z"}]}`},
				{"GET", "/@groups/empty", "", 200, `{"group":"empty","connections":[]}`},
				{"POST", "/@broadcast", "hi all", 200, `{"delivered":4}`},
				{"DELETE", "/@users/ann", "", 200, `{"userId":"ann","disconnected":2}`},
				{"DELETE", "/@users/ann", "", 410, ""},
				{"GET", "/@users/ann", "", 200, `{"userId":"ann","online":false,"connections":0,"lastActiveAt":"2024-01-20T12:00:00.000Z"}`},
			}
			for _, s := range steps {
				var body []byte
				if s.body != "" {
					body = []byte(s.body)
				}
				status, got, hdr := do(t, s.method, base+s.path, body, m.signed)
				if status != s.status {
					t.Errorf("%s %s: status %d, want %d (body %s)", s.method, s.path, status, s.status, got)
					continue
				}
				if status < 300 && got != s.want {
					t.Errorf("%s %s:\n got %s\nwant %s", s.method, s.path, got, s.want)
				}
				if status == 200 && hdr.Get("Content-Type") != "application/json" {
					t.Errorf("%s %s: Content-Type %q", s.method, s.path, hdr.Get("Content-Type"))
				}
				if status == 410 && hdr.Get("X-Amzn-ErrorType") != "GoneException" {
					t.Errorf("%s %s: X-Amzn-ErrorType %q, want GoneException", s.method, s.path, hdr.Get("X-Amzn-ErrorType"))
				}
			}
			wantSent := map[string][]string{
				idA1: {"hi ann", "hi room", "hi all"},
				idA2: {"hi ann", "hi all"},
				idB:  {"hi room", "hi all"},
				idN:  {"hi all"},
			}
			for id, want := range wantSent {
				var got []string
				for _, m := range b.messages(id) {
					got = append(got, string(m))
				}
				if !slices.Equal(got, want) {
					t.Errorf("connection %s got %q, want %q", id, got, want)
				}
			}
		})
	}
}

// TestUsersQueryPassing checks the parameters the Backend receives for GET /@users.
func TestUsersQueryPassing(t *testing.T) {
	b := extBackend()
	base := startServer(t, b, false).URL + "/dev"
	cases := []struct {
		query string
		want  []any
	}{
		{"", []any{"", DefaultListLimit}},
		{"?limit=1000&cursor=a%2Bb+c", []any{"a+b+c", 1000}},
		{"?X-Amz-Date=x&limit=7", []any{"", 7}},
		{"?ids=ann", []any{[]string{"ann"}}},
		{"?ids=a%2Cb,c&ids=auth0|42", []any{[]string{"a", "b", "c", "auth0|42"}}},
		{"?ids=ann+test@example.com", []any{[]string{"ann+test@example.com"}}},
	}
	for _, c := range cases {
		if status, body, _ := do(t, "GET", base+"/@users"+c.query, nil, false); status != 200 {
			t.Errorf("GET /@users%s: %d %s", c.query, status, body)
			continue
		}
		got := b.args()
		if len(got) != len(c.want) {
			t.Errorf("GET /@users%s: backend got %#v, want %#v", c.query, got, c.want)
			continue
		}
		for i := range got {
			if ids, ok := got[i].([]string); ok {
				if !slices.Equal(ids, c.want[i].([]string)) {
					t.Errorf("GET /@users%s: ids %q, want %q", c.query, ids, c.want[i])
				}
			} else if got[i] != c.want[i] {
				t.Errorf("GET /@users%s: arg %d = %#v, want %#v", c.query, i, got[i], c.want[i])
			}
		}
	}
}

func TestBadRequests(t *testing.T) {
	base := startServer(t, extBackend(), false).URL + "/dev"
	long := strings.Repeat("u", MaxNameLen+1)
	many := strings.TrimSuffix(strings.Repeat("u,", MaxPresenceIDs+1), ",")
	cases := []struct{ method, path string }{
		{"GET", "/@users/a%20b"},
		{"GET", "/@users/" + long},
		{"POST", "/@users/caf%C3%A9"},
		{"DELETE", "/@users/a%09b"},
		{"GET", "/@users?ids=" + many},
		{"GET", "/@users?ids="},
		{"GET", "/@users?ids=a,,b"},
		{"GET", "/@users?ids=a%zz"},
		{"GET", "/@users?limit=0"},
		{"GET", "/@users?limit=1001"},
		{"GET", "/@users?limit=ten"},
		{"GET", "/@users?limit=1&limit=2"},
		{"GET", "/@users?cursor=%"},
		{"POST", "/@groups/" + long},
		{"GET", "/@groups/a%00b"},
		{"PUT", "/@connections/" + idA1 + "/groups/a%7Fb"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, base+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(c.method+" "+c.path[:min(len(c.path), 40)], func(t *testing.T) {
			checkError(t, resp, http.StatusBadRequest, "BadRequestException", "")
		})
	}
	// Exactly the limits is fine.
	ok := []string{"/@users/" + long[1:], "/@users?ids=" + many[2:], "/@users?limit=1"}
	for _, p := range ok {
		if status, body, _ := do(t, "GET", base+p, nil, false); status != 200 {
			t.Errorf("GET %s: %d %s, want 200", p[:min(len(p), 40)], status, body)
		}
	}
}

// TestForbiddenPaths: AWS answers every path and method it does not serve with 403 and
// {"message":"Forbidden"}; the SDKs decode that as ForbiddenException.
func TestForbiddenPaths(t *testing.T) {
	b := extBackend()
	srv := startServer(t, b, false)
	cases := []struct{ method, path string }{
		{"PUT", "/dev/@connections/" + idA1},
		{"PATCH", "/dev/@connections/" + idA1},
		{"GET", "/dev/@connections"},
		{"GET", "/dev/@connections/"},
		{"POST", "/prod/@connections/" + idA1},
		{"POST", "/@connections/" + idA1},
		{"GET", "/dev/@broadcast"},
		{"DELETE", "/dev/@groups/g"},
		{"PUT", "/dev/@users/ann"},
		{"POST", "/dev/@users"},
		{"GET", "/dev/@nothing/x"},
		{"GET", "/dev/@connections/" + idA1 + "/groups"},
		{"POST", "/dev/@connections/" + idA1 + "/groups/g"},
		{"PUT", "/dev/@connections/" + idA1 + "/rooms/g"},
		{"GET", "/dev/%41connections/" + idA1},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, bytes.NewReader([]byte("x")))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			checkError(t, resp, http.StatusForbidden, "ForbiddenException", "Forbidden")
		})
	}
	if got := b.messages(idA1); len(got) != 0 {
		t.Fatalf("a forbidden request reached the backend: %q", got)
	}
}

// TestPathForms: "@" raw or %40, ids raw or percent-encoded, all reach the same connection.
func TestPathForms(t *testing.T) {
	b := newMemBackend(testConn())
	base := startServer(t, b, false).URL
	paths := []string{
		"/dev/@connections/Dwz4leekPHcCG6Q=",
		"/dev/@connections/Dwz4leekPHcCG6Q%3D",
		"/dev/%40connections/Dwz4leekPHcCG6Q%3D",
		"/dev/%40connections/Dwz4leekPHcCG6Q=",
		"/dev/%40connections/%44wz4leekPHcCG6Q%3d",
	}
	for _, p := range paths {
		if status, body, _ := do(t, "POST", base+p, []byte(p), false); status != 200 || body != "" {
			t.Errorf("POST %s: %d %q, want 200 and no body", p, status, body)
		}
	}
	var got []string
	for _, m := range b.messages(testConnID) {
		got = append(got, string(m))
	}
	if !slices.Equal(got, paths) {
		t.Fatalf("delivered %q, want %q", got, paths)
	}
}

// TestGetConnectionJSON pins the exact GetConnection body: AWS's shape, userAgent left out when
// the client sent none, lastActiveAt falling back to connectedAt, userId only for a user.
func TestGetConnectionJSON(t *testing.T) {
	withUA := testConn()
	bare := registry.Conn{ID: "bare=", ConnectedAt: connectedAt, SourceIP: "::1", UserID: "ann"}
	base := startServer(t, newMemBackend(withUA, bare), false).URL + "/dev/@connections/"
	cases := map[string]string{
		testConnID: `{"connectedAt":"2024-01-20T11:55:00.123Z","identity":{"sourceIp":"203.0.113.7","userAgent":"Mozilla/5.0 test"},"lastActiveAt":"2024-01-20T12:05:30.000Z"}`,
		"bare=":    `{"connectedAt":"2024-01-20T11:55:00.123Z","identity":{"sourceIp":"::1"},"lastActiveAt":"2024-01-20T11:55:00.123Z","userId":"ann"}`,
	}
	for id, want := range cases {
		status, got, hdr := do(t, "GET", base+id, nil, false)
		if status != 200 || got != want {
			t.Errorf("GET %s: %d\n got %s\nwant %s", id, status, got, want)
		}
		if hdr.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: Content-Type %q", id, hdr.Get("Content-Type"))
		}
	}
	if status, got, _ := do(t, "DELETE", base+testConnID, nil, false); status != 204 || got != "" {
		t.Errorf("DELETE: %d %q, want 204 and no body", status, got)
	}
}

// TestTimeout: a Backend call that outlives Options.Timeout ends in a 500 with the usual error
// shape, not a hung request.
func TestTimeout(t *testing.T) {
	h := New(Options{Stage: testStage, Backend: &blockingBackend{}, Timeout: time.Millisecond})
	req := httptest.NewRequest(http.MethodPost, "/dev/@connections/x=", strings.NewReader("x"))
	req.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	checkError(t, rec.Result(), http.StatusInternalServerError, "InternalServerErrorException", "")
}

// TestObserve: the hook sees every request once with its operation name and status.
func TestObserve(t *testing.T) {
	var mu sync.Mutex
	var got []string
	h := New(Options{Stage: testStage, Backend: extBackend(), Observe: func(op string, status int, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if d < 0 {
			t.Errorf("negative duration %v", d)
		}
		got = append(got, op+" "+http.StatusText(status))
	}})
	reqs := []struct{ method, path string }{
		{"POST", "/dev/@connections/" + idA1},
		{"GET", "/dev/@connections/nope"},
		{"DELETE", "/dev/@connections/" + idN},
		{"GET", "/dev/@users?ids=ann"},
		{"GET", "/dev/@users"},
		{"GET", "/dev/@users/ann"},
		{"PUT", "/dev/@connections/" + idA1 + "/groups/g"},
		{"DELETE", "/dev/@connections/" + idA1 + "/groups/g"},
		{"POST", "/dev/@groups/g"},
		{"GET", "/dev/@groups/g"},
		{"POST", "/dev/@broadcast"},
		{"POST", "/dev/@users/ann"},
		{"DELETE", "/dev/@users/bob"},
		{"GET", "/dev/@nope"},
	}
	for _, r := range reqs {
		req := httptest.NewRequest(r.method, r.path, strings.NewReader("x"))
		req.RemoteAddr = "[::1]:1"
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	want := []string{
		"PostToConnection OK", "GetConnection Gone", "DeleteConnection No Content", "GetUsers OK",
		"ListOnlineUsers OK", "GetUser OK", "JoinGroup No Content", "LeaveGroup No Content",
		"PostToGroup OK", "GetGroup OK", "Broadcast OK", "PostToUser OK", "DeleteUser OK", "Unknown Forbidden",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("observed\n %q\nwant\n %q", got, want)
	}
}

// GET /@nodes lists every node with its connections, ordered by node and connectedAt.
func TestListNodes(t *testing.T) {
	b := newMemBackend(
		registry.Conn{ID: "c2", Node: "n1", UserID: "ann", ConnectedAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		registry.Conn{ID: "c1", Node: "n1", ConnectedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		registry.Conn{ID: "c3", Node: "n0", ConnectedAt: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)},
	)
	srv := startServer(t, b, false)
	resp, err := http.Get(srv.URL + "/dev/@nodes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	want := `{"nodes":[{"node":"n0","connections":[{"connectionId":"c3","connectedAt":"2026-01-03T00:00:00.000Z"}]},` +
		`{"node":"n1","connections":[{"connectionId":"c1","connectedAt":"2026-01-01T00:00:00.000Z"},` +
		`{"connectionId":"c2","userId":"ann","connectedAt":"2026-01-02T00:00:00.000Z"}]}]}`
	if resp.StatusCode != http.StatusOK || string(body) != want {
		t.Errorf("GET /@nodes: %d %s\nwant 200 %s", resp.StatusCode, body, want)
	}
}
