package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/registry"
)

// stubHub is the page's view of a hub for handler tests (the browser test uses a real node).
type stubHub struct{ deleted []string }

func (h *stubHub) Len() int                    { return 0 }
func (h *stubHub) LocalGroups() map[string]int { return nil }
func (h *stubHub) DeleteConnection(_ context.Context, id string) error {
	h.deleted = append(h.deleted, id)
	return nil
}

func newPage(t *testing.T, creds map[string]string) *Dashboard {
	t.Helper()
	st := registry.NewMemory()
	t.Cleanup(func() { _ = st.Close() })
	return New(Options{Node: "n1", Hub: &stubHub{}, Store: st, Gatherer: observe.NewMetrics().Registry, Credentials: creds})
}

func do(h http.Handler, method, path, remote string, body string, hdr map[string]string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = remote
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestLoopbackOnlyWithoutCredentials(t *testing.T) {
	d := newPage(t, nil)
	for _, tc := range []struct {
		remote string
		want   int
	}{{"127.0.0.1:5000", 200}, {"[::1]:5000", 200}, {"[::ffff:127.0.0.1]:1", 200}, {"10.0.0.8:5000", 403}, {"192.0.2.1:1", 403}} {
		if w := do(d, "GET", "/_wsgate/", tc.remote, "", nil); w.Code != tc.want {
			t.Errorf("GET /_wsgate/ from %s: %d, want %d", tc.remote, w.Code, tc.want)
		}
	}
	if w := do(d, "GET", "/_wsgate/api/connections/nope", "10.0.0.8:1", "", nil); w.Code != 403 || !strings.Contains(w.Body.String(), "management.credentials") {
		t.Errorf("API from a remote client: %d %s", w.Code, w.Body)
	}
	if w := do(d, "GET", "/_wsgate/api/connections/nope", "127.0.0.1:1", "", nil); w.Code != 404 || !strings.Contains(w.Body.String(), `no connection \"nope\"`) {
		t.Errorf("unknown connection: %d %s", w.Code, w.Body)
	}
}

func TestSignInWithAccessKeyPair(t *testing.T) {
	d := newPage(t, map[string]string{"AKID1": "secret/1", "AKID2": "secret/2"})
	remote := "198.51.100.7:4000" // credentials configured: any address may sign in
	if w := do(d, "GET", "/_wsgate/api/events", remote, "", nil); w.Code != 401 {
		t.Fatalf("events without a session: %d", w.Code)
	}
	if w := do(d, "GET", "/_wsgate/", remote, "", nil); w.Code != 200 {
		t.Fatalf("the page itself (it shows the sign-in form): %d", w.Code)
	}
	for _, body := range []string{`{"accessKeyId":"AKID1","secretAccessKey":"secret/2"}`, `{"accessKeyId":"NOPE","secretAccessKey":"secret/1"}`, `{}`} {
		if w := do(d, "POST", "/_wsgate/api/login", remote, body, nil); w.Code != 401 || len(w.Result().Cookies()) != 0 {
			t.Errorf("login %s: %d, cookies %v", body, w.Code, w.Result().Cookies())
		}
	}
	if w := do(d, "POST", "/_wsgate/api/login", remote, `not json`, nil); w.Code != 400 {
		t.Errorf("login with a bad body: %d", w.Code)
	}
	w := do(d, "POST", "/_wsgate/api/login", remote, `{"accessKeyId":"AKID1","secretAccessKey":"secret/1"}`, nil)
	cs := w.Result().Cookies()
	if w.Code != 200 || len(cs) != 1 || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode || cs[0].Path != Prefix {
		t.Fatalf("login: %d %v", w.Code, cs)
	}
	c := cs[0]
	if w := do(d, "GET", "/_wsgate/api/connections/x", remote, "", nil, c); w.Code != 404 {
		t.Errorf("signed in: %d %s", w.Code, w.Body)
	}
	// A POST needs the page's header, so a cross-site form cannot disconnect anyone.
	if w := do(d, "POST", "/_wsgate/api/connections/x/disconnect", remote, "", nil, c); w.Code != 403 {
		t.Errorf("POST without X-Wsgate-Dashboard: %d", w.Code)
	}
	if w := do(d, "POST", "/_wsgate/api/connections/x/disconnect", remote, "", map[string]string{"X-Wsgate-Dashboard": "1"}, c); w.Code != 200 {
		t.Errorf("disconnect: %d %s", w.Code, w.Body)
	}
	if got := d.o.Hub.(*stubHub).deleted; len(got) != 1 || got[0] != "x" {
		t.Errorf("hub deletes: %v", got)
	}
	// Tampered, forged for another key, expired, or for a key no longer configured: refused.
	bad := []string{
		c.Value[:len(c.Value)-2] + "AA",
		sign("AKID2", "secret/1", time.Now().Add(time.Hour).Unix()),
		sign("AKID1", "secret/1", time.Now().Add(-time.Second).Unix()),
		sign("AKID3", "secret/1", time.Now().Add(time.Hour).Unix()),
		"garbage",
	}
	for _, v := range bad {
		if w := do(d, "GET", "/_wsgate/api/connections/x", remote, "", nil, &http.Cookie{Name: cookieName, Value: v}); w.Code != 401 {
			t.Errorf("cookie %q: %d", v, w.Code)
		}
	}
}

func TestTailTapsAccessLogAndKeepsTheLog(t *testing.T) {
	var out bytes.Buffer
	inner := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tail := NewTail(3)
	log := tail.Wrap(inner).With("requestId", "r1")
	log.Info("message", "connectionId", "c1", "routeKey", "$default", "status", 200)
	if n := len(tail.Recent()); n != 0 || out.Len() != 0 {
		t.Fatalf("at level warn with nobody watching: %d lines kept, log %q", n, out.String())
	}
	log.Warn("disconnect", "connectionId", "c0", "status", 502)
	if n := len(tail.Recent()); n != 0 || !strings.Contains(out.String(), `"connectionId":"c0"`) {
		t.Fatalf("with nobody watching: %d lines kept (want none), log %q", n, out.String())
	}
	out.Reset()
	ch, stop := tail.Subscribe(10)
	defer stop()
	log.Info("message", "connectionId", "c1", "routeKey", "$default", "status", 200, "integrationLatency", 1500*time.Microsecond)
	log.Info("no connection here")
	log.Warn("disconnect", slog.Group("g", "connectionId", "nested"), "connectionId", "c2", "status", 502)
	got := tail.Recent()
	if len(got) != 2 {
		t.Fatalf("kept %d lines: %+v", len(got), got)
	}
	if l := got[0]; l.ConnectionID != "c1" || l.RouteKey != "$default" || l.Status != "200" || l.Attrs[0] != [2]string{"requestId", "r1"} || l.Attrs[4] != [2]string{"integrationLatency", "1.500ms"} {
		t.Errorf("line 1: %+v", l)
	}
	if l := <-ch; l.Msg != "message" {
		t.Errorf("subscriber got %+v", l)
	}
	if l := got[1]; l.ConnectionID != "c2" || l.Attrs[1] != [2]string{"g.connectionId", "nested"} {
		t.Errorf("line 2: %+v", l)
	}
	// The wrapped logger wrote only what its own level allows: the warn line.
	if lines := strings.Count(out.String(), "\n"); lines != 1 || !strings.Contains(out.String(), `"msg":"disconnect"`) {
		t.Errorf("inner log: %q", out.String())
	}
	for i := 0; i < 5; i++ { // still watched: the ring keeps the last 3
		log.Warn("m", "connectionId", "c"+string(rune('a'+i)))
	}
	if got := tail.Recent(); len(got) != 3 || got[2].ConnectionID != "ce" || got[0].ConnectionID != "cc" {
		t.Errorf("ring of 3 after 7 lines: %+v", got)
	}
}

// TestPageReadsMetrics fails when a metric the page reads is renamed in internal/observe
// without the constants in stats.go.
func TestPageReadsMetrics(t *testing.T) {
	m := observe.NewMetrics()
	m.ConnectionsActive.Set(4)
	m.Connects.WithLabelValues("accepted").Add(10)
	m.Connects.WithLabelValues("refused_401").Add(2)
	m.Disconnects.WithLabelValues("client").Add(6)
	m.Messages.WithLabelValues("chat", "ok").Add(8)
	m.Messages.WithLabelValues("chat", "error").Add(2)
	m.IntegrationTime.WithLabelValues("chat").Observe(0.020)
	m.ManagementRequests.WithLabelValues("PostToConnection", "200").Add(3)
	m.ManagementRequests.WithLabelValues("GetConnection", "200").Add(9)
	t0 := time.Unix(1000, 0)
	zero, err := read(m.Registry, t0)
	if err != nil {
		t.Fatal(err)
	}
	_ = zero
	cur, err := read(m.Registry, t0.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if cur.connections != 4 || cur.accepted != 10 || cur.refused != 2 || cur.disconnects != 6 || cur.messages != 10 || cur.pushes != 3 {
		t.Fatalf("read: %+v", cur)
	}
	p := point(counters{t: t0, routes: map[string]*routeCounters{}}, cur)
	if p.ConnectsPerSec != 5 || p.DisconnPerSec != 3 || p.MessagesIn != 5 || p.MessagesOut != 1.5 || p.RefusedPerSec != 1 {
		t.Errorf("rates over 2 s: %+v", p)
	}
	rs := routeStats(counters{routes: map[string]*routeCounters{}}, cur)
	if len(rs) != 1 || rs[0].Route != "chat" || rs[0].Calls != 10 || rs[0].Errors != 2 || rs[0].ErrorRate != 0.2 || rs[0].AvgMs != 20 || rs[0].P95Ms <= 10 || rs[0].P95Ms > 25 {
		b, _ := json.Marshal(rs)
		t.Errorf("route stats: %s", b)
	}
}

// Hot reload hands the page new credentials: a session of a removed key ends, and with none
// left only loopback clients are served.
func TestSetCredentials(t *testing.T) {
	d := newPage(t, map[string]string{"AKID1": "s1"})
	w := do(d, "POST", "/_wsgate/api/login", "198.51.100.7:1", `{"accessKeyId":"AKID1","secretAccessKey":"s1"}`, nil)
	c := w.Result().Cookies()[0]
	if w := do(d, "GET", "/_wsgate/api/connections/x", "198.51.100.7:1", "", nil, c); w.Code != 404 {
		t.Fatalf("signed in: %d", w.Code)
	}
	d.SetCredentials(map[string]string{"AKID2": "s2"})
	if w := do(d, "GET", "/_wsgate/api/connections/x", "198.51.100.7:1", "", nil, c); w.Code != 401 {
		t.Errorf("session of a removed key: %d, want 401", w.Code)
	}
	d.SetCredentials(nil)
	if w := do(d, "GET", "/_wsgate/", "198.51.100.7:1", "", nil); w.Code != 403 {
		t.Errorf("no credentials, remote client: %d, want 403", w.Code)
	}
}
