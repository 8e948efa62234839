package benchfloor_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/wsgate/wsgate/internal/benchfloor"
)

// backend is a real HTTP server that answers each POST with "via backend: " and the body, and
// counts the TCP connections it accepted and the requests it served.
type backend struct {
	*httptest.Server
	mu     sync.Mutex
	conns  int
	bodies []string
	types  []string
}

func newBackend(t *testing.T) *backend {
	b := &backend{}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.bodies = append(b.bodies, r.Method+" "+r.URL.Path+" "+string(body))
		b.types = append(b.types, r.Header.Get("Content-Type"))
		b.mu.Unlock()
		if string(body) == "silent" {
			return // 200 with no body: the floor, as the gateway, sends nothing back
		}
		_, _ = io.WriteString(w, "via backend: "+string(body))
	}))
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.mu.Lock()
			b.conns++
			b.mu.Unlock()
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, _, err := ws.Dial(ctx, "ws://"+addr+"/bench")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func TestFloorWithIntegrationAnswersWithTheBackendsAnswer(t *testing.T) {
	for _, client := range []string{benchfloor.ClientNetHTTP, benchfloor.ClientMinimal} {
		t.Run(strings.ReplaceAll(client, "/", ""), func(t *testing.T) { testFloorWithIntegration(t, client) })
	}
}

func testFloorWithIntegration(t *testing.T, client string) {
	b := newBackend(t)
	s, err := benchfloor.StartWith("127.0.0.1:0", benchfloor.Options{Integration: b.URL + "/echo", IntegrationClient: client})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	c := dial(t, s.Addr())
	const n = 20
	for i := range n {
		msg := `{"action":"echo","i":` + strings.Repeat("7", i+1) + `}`
		if err := wsutil.WriteClientText(c, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		got, op, err := wsutil.ReadServerData(c)
		if err != nil || op != ws.OpText || string(got) != "via backend: "+msg {
			t.Fatalf("message %d: op %v, %q, %v", i, op, got, err)
		}
	}
	// Binary in, the answer goes back as binary.
	if err := wsutil.WriteClientBinary(c, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if got, op, err := wsutil.ReadServerData(c); err != nil || op != ws.OpBinary || string(got) != "via backend: \x00\x01\x02" {
		t.Fatalf("binary: op %v, %q, %v", op, got, err)
	}
	// An empty answer sends nothing: the next frame is the next message's answer.
	for _, msg := range []string{"silent", "after"} {
		if err := wsutil.WriteClientText(c, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	if got, _, err := wsutil.ReadServerData(c); err != nil || string(got) != "via backend: after" {
		t.Fatalf("after an empty answer: %q, %v", got, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.bodies) != n+3 || b.bodies[0] != `POST /echo {"action":"echo","i":7}` || b.types[0] != "application/json" {
		t.Fatalf("backend saw %d requests, first %q (%q)", len(b.bodies), b.bodies[0], b.types[0])
	}
	// One connection's calls, one after another, reuse one kept-alive backend connection.
	if b.conns != 1 {
		t.Fatalf("%d backend connections for %d sequential calls, want 1 (the client is pooled)", b.conns, n+3)
	}
}

func TestFloorWithIntegrationAnswersAFailedCallWithTheErrorFrame(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/echo"
	ln.Close() // nothing listens there now: every call is refused
	// An answer the minimal client does not read (chunked, no Content-Length).
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "part")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "rest")
	}))
	defer chunked.Close()
	for _, tc := range []struct{ url, client string }{
		{dead, benchfloor.ClientNetHTTP},
		{dead, benchfloor.ClientMinimal},
		{chunked.URL, benchfloor.ClientMinimal},
	} {
		s, err := benchfloor.StartWith("127.0.0.1:0", benchfloor.Options{Integration: tc.url, IntegrationClient: tc.client})
		if err != nil {
			t.Fatal(err)
		}
		c := dial(t, s.Addr())
		if err := wsutil.WriteClientText(c, []byte(`{"t":1}`)); err != nil {
			t.Fatal(err)
		}
		if got, _, err := wsutil.ReadServerData(c); err != nil || string(got) != `{"message": "Internal server error"}` {
			t.Errorf("%s through %s: got %q, %v", tc.url, tc.client, got, err)
		}
		s.Stop()
	}
}

func TestFloorRefusesAnIntegrationItShouldNotCall(t *testing.T) {
	for _, u := range []string{"https://127.0.0.1:1/echo", "http://10.0.0.1:80/echo", "127.0.0.1:19001", "http://", "ftp://127.0.0.1/"} {
		s, err := benchfloor.StartWith("127.0.0.1:0", benchfloor.Options{Integration: u, IntegrationClient: benchfloor.ClientMinimal})
		if err == nil {
			s.Stop()
			t.Errorf("--integration %q accepted", u)
			continue
		}
		if !strings.Contains(err.Error(), "--integration") {
			t.Errorf("--integration %q: error does not name the flag: %v", u, err)
		}
	}
	if s, err := benchfloor.StartWith("127.0.0.1:0", benchfloor.Options{Integration: "http://127.0.0.1:1/", IntegrationClient: "curl"}); err == nil {
		s.Stop()
		t.Error("--integration-client curl accepted")
	}
}
