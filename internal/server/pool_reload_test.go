package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// The node keeps one pool of backend connections for its life: a reload reuses the kept-alive
// connection instead of leaving it idle in a pool nobody asks any more (one leaked socket, in
// CLOSE_WAIT once the backend gives up on it, per host and reload), and Shutdown closes it.
func TestBackendConnectionsOutliveReloadAndCloseAtShutdown(t *testing.T) {
	var mu sync.Mutex
	opened, closed := 0, 0
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			opened++
		case http.StateClosed:
			closed++
		}
	}
	backend.Start()
	defer backend.Close()
	yaml := fmt.Sprintf(`
routes: { $default: { integration: app, routeResponse: true } }
integrations: { app: { type: HTTP_PROXY, uri: %s } }
`, backend.URL)
	n := servertest.Start(t, yaml)
	c := dial(t, n.WS("/dev"))
	send(t, c, "before the reload")
	if got := read(t, c); got != "ok" {
		t.Fatalf("answer %q, want ok", got)
	}
	if _, err := n.Server.Reload(servertest.ParseConfig(t, yaml)); err != nil {
		t.Fatal(err)
	}
	send(t, c, "after the reload")
	if got := read(t, c); got != "ok" {
		t.Fatalf("answer %q, want ok", got)
	}
	mu.Lock()
	if opened != 1 {
		t.Errorf("the backend saw %d connections, want 1 (the reloaded routes reuse the node's pool)", opened)
	}
	mu.Unlock()
	_ = c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, "the backend sees its connections closed after Shutdown", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return closed == opened
	})
}
