package management

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/registry"
)

var routeCases = []struct {
	method, path string
	want         route // op opUnknown: errNoRoute
}{
	{"POST", "/dev/@connections/abc=", route{op: opPostToConnection, id: "abc="}},
	{"GET", "/dev/@connections/abc%3D", route{op: opGetConnection, id: "abc="}},
	{"DELETE", "/dev/%40connections/abc%3d", route{op: opDeleteConnection, id: "abc="}},
	{"POST", "/dev/@connections/a%2Fb", route{op: opPostToConnection, id: "a/b"}},
	{"POST", "/dev/@connections/a+b", route{op: opPostToConnection, id: "a+b"}},
	{"PUT", "/dev/@connections/abc=/groups/room%201", route{op: opJoinGroup, id: "abc=", group: "room 1"}},
	{"DELETE", "/dev/@connections/abc=/groups/r", route{op: opLeaveGroup, id: "abc=", group: "r"}},
	{"POST", "/dev/@users/ann", route{op: opPostToUser, id: "ann"}},
	{"GET", "/dev/@users/auth0%7C42", route{op: opGetUser, id: "auth0|42"}},
	{"DELETE", "/dev/%40users/ann", route{op: opDeleteUser, id: "ann"}},
	{"GET", "/dev/@users", route{op: opListOnline}},
	{"POST", "/dev/@groups/g", route{op: opPostToGroup, group: "g"}},
	{"GET", "/dev/@groups/g", route{op: opGetGroup, group: "g"}},
	{"POST", "/dev/@broadcast", route{op: opBroadcast}},
	{"GET", "/dev/@nodes", route{op: opListNodes}},
	{"POST", "/%64ev/@broadcast", route{op: opBroadcast}},

	{"POST", "", route{}},
	{"POST", "/", route{}},
	{"POST", "dev/@connections/a", route{}},
	{"POST", "/dev", route{}},
	{"POST", "/dev/", route{}},
	{"POST", "/prod/@connections/a", route{}},
	{"POST", "/dev/connections/a", route{}},
	{"POST", "/dev/@Connections/a", route{}},
	{"POST", "/dev/%2540connections/a", route{}},
	{"POST", "/dev/@connections", route{}},
	{"POST", "/dev/@connections/", route{}},
	{"POST", "/dev/@connections/a/", route{}},
	{"POST", "/dev/@connections//", route{}},
	{"POST", "/dev/@connections/a%zz", route{}},
	{"PUT", "/dev/@connections/a", route{}},
	{"HEAD", "/dev/@connections/a", route{}},
	{"post", "/dev/@connections/a", route{}},
	{"PUT", "/dev/@connections/a/groups", route{}},
	{"PUT", "/dev/@connections/a/groups/", route{}},
	{"PUT", "/dev/@connections/a/groups/g/x", route{}},
	{"PUT", "/dev/@connections/a/group/g", route{}},
	{"GET", "/dev/@connections/a/groups/g", route{}},
	{"POST", "/dev/@users/", route{}},
	{"POST", "/dev/@users/a/b", route{}},
	{"PUT", "/dev/@users/a", route{}},
	{"DELETE", "/dev/@groups/g", route{}},
	{"GET", "/dev/@groups", route{}},
	{"GET", "/dev/@broadcast", route{}},
	{"POST", "/dev/@broadcast/x", route{}},
	{"POST", "/dev/@", route{}},
	{"POST", "/dev/%40", route{}},
}

func TestParseRoute(t *testing.T) {
	for _, c := range routeCases {
		got, err := parseRoute(c.method, c.path, "dev")
		if c.want.op == opUnknown {
			if err == nil {
				t.Errorf("%s %q: routed to %+v, want no route", c.method, c.path, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s %q: %+v, %v; want %+v", c.method, c.path, got, err, c.want)
		}
	}
}

// okBackend accepts everything, so that any request the handler routes ends in a 2xx and any it
// does not route ends in 403.
type okBackend struct{}

func (okBackend) PostToConnection(context.Context, string, []byte) error { return nil }
func (okBackend) GetConnection(context.Context, string) (registry.Conn, error) {
	return registry.Conn{}, nil
}
func (okBackend) DeleteConnection(context.Context, string) error                { return nil }
func (okBackend) PostToUser(context.Context, string, []byte) (int, error)       { return 1, nil }
func (okBackend) DeleteUser(context.Context, string) (int, error)               { return 1, nil }
func (okBackend) JoinGroup(context.Context, string, string) error               { return nil }
func (okBackend) LeaveGroup(context.Context, string, string) error              { return nil }
func (okBackend) PostToGroup(context.Context, string, []byte) (int, error)      { return 1, nil }
func (okBackend) GroupMembers(context.Context, string) ([]registry.Conn, error) { return nil, nil }
func (okBackend) Broadcast(context.Context, []byte) (int, error)                { return 1, nil }
func (okBackend) NodeConnections(context.Context) (map[string][]registry.Conn, error) {
	return nil, nil
}
func (okBackend) Presence(_ context.Context, ids []string) ([]registry.Presence, error) {
	return make([]registry.Presence, len(ids)), nil
}
func (okBackend) OnlineUsers(context.Context, string, int) ([]registry.Presence, string, error) {
	return nil, "", nil
}

// FuzzRoute feeds arbitrary methods and paths to the router and to the whole handler: no panic,
// an unrouted request is always 403 ForbiddenException or 404 NotFoundException, a routed one decodes to segments that
// re-encode to the same route, and every answer has a request id.
func FuzzRoute(f *testing.F) {
	for _, c := range routeCases {
		f.Add(c.method, c.path)
	}
	f.Add("GET", "/dev/@users?ids=a,b&limit=3")
	h := New(Options{Stage: "dev", Backend: okBackend{}})
	f.Fuzz(func(t *testing.T, method, path string) {
		rt, err := parseRoute(method, path, "dev")
		if err == nil {
			if rt.op == opUnknown {
				t.Fatalf("%s %q: routed to opUnknown without an error", method, path)
			}
			// The decoded parameters, re-encoded, route the same way.
			p := "/dev/@connections/" + url.PathEscape(rt.id)
			switch rt.op {
			case opJoinGroup, opLeaveGroup:
				p += "/groups/" + url.PathEscape(rt.group)
			case opPostToUser, opGetUser, opDeleteUser:
				p = "/dev/@users/" + url.PathEscape(rt.id)
			case opPostToGroup, opGetGroup:
				p = "/dev/@groups/" + url.PathEscape(rt.group)
			case opListOnline:
				p = "/dev/@users"
			case opBroadcast:
				p = "/dev/@broadcast"
			case opListNodes:
				p = "/dev/@nodes"
			}
			if again, err := parseRoute(method, p, "dev"); err != nil || again != rt {
				t.Fatalf("%s %q -> %+v; re-encoded %q -> %+v, %v", method, path, rt, p, again, err)
			}
		}

		u, perr := url.ParseRequestURI(path)
		if perr != nil || !validMethod(method) {
			return // net/http would refuse it before the handler
		}
		req := httptest.NewRequest("GET", "/", bytes.NewReader([]byte("x")))
		req.Method, req.URL, req.RemoteAddr = method, u, "127.0.0.1:1"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Header().Get("x-amzn-RequestId") == "" {
			t.Fatalf("%s %q: no request id", method, path)
		}
		if _, err := parseRoute(method, u.EscapedPath(), "dev"); err != nil {
			notFound := rec.Code == http.StatusNotFound && rec.Header().Get("X-Amzn-ErrorType") == "NotFoundException" &&
				strings.HasPrefix(rec.Body.String(), `{"message":"No method found matching route `)
			forbidden := rec.Code == http.StatusForbidden && rec.Header().Get("X-Amzn-ErrorType") == "ForbiddenException" &&
				rec.Body.String() == `{"message":"Forbidden"}`
			if !notFound && !forbidden {
				t.Fatalf("%s %q: unrouted answered %d %q %s", method, path, rec.Code,
					rec.Header().Get("X-Amzn-ErrorType"), rec.Body)
			}
		} else if rec.Code >= 300 && rec.Code != http.StatusBadRequest {
			t.Fatalf("%s %q: routed answered %d %s", method, path, rec.Code, rec.Body)
		}
	})
}

func validMethod(m string) bool {
	return m != "" && !strings.ContainsFunc(m, func(r rune) bool { return r <= ' ' || r >= 0x7f })
}

// MentionsResource is a superset of what the router accepts: every path it routes, raw or
// encoded, is mentioned; a plain connect path is not.
func TestMentionsResource(t *testing.T) {
	for p, want := range map[string]bool{
		"/dev/@connections/abc=":   true,
		"/dev/%40connections/abc=": true,
		"/dev//@connections/abc=":  true,
		"/dev/@batch":              true,
		"/dev":                     false,
		"/dev/rooms/abc=":          false,
		"/healthz":                 false,
	} {
		if got := MentionsResource(p); got != want {
			t.Errorf("MentionsResource(%q) = %v, want %v", p, got, want)
		}
	}
}
