// Package servertest starts wsgate nodes in the test process, as net/http/httptest starts
// servers: on a free loopback port, shut down at the test's cleanup. The e2e suites' other
// shared parts are in internal/testutil/harness.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/server"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// Node is a wsgate node running in the test process, on a free loopback port.
type Node struct {
	Server *server.Server
	Addr   string // host:port of the main listener
	Config *config.Config
}

// WS is the ws:// URL of path on the node ("/dev?x=1").
func (n *Node) WS(path string) string { return "ws://" + n.Addr + path }

// HTTP is the http:// URL of path on the node.
func (n *Node) HTTP(path string) string { return "http://" + n.Addr + path }

// Start parses yaml (listen is forced to 127.0.0.1:0), starts a node and shuts it down at
// t's cleanup. Its log is discarded, or written to t's log at debug level under go test -v.
func Start(t testing.TB, yaml string) *Node {
	t.Helper()
	return StartConfig(t, ParseConfig(t, yaml), nil)
}

// StartLogged is Start with the node's log captured as JSON (info and above) in the
// returned harness.Buffer; its Records reads it.
func StartLogged(t testing.TB, yaml string) (*Node, *harness.Buffer) {
	t.Helper()
	buf := &harness.Buffer{}
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return StartConfig(t, ParseConfig(t, yaml), log), buf
}

// ParseConfig parses yaml as the file <test name>.yaml with listen forced to 127.0.0.1:0.
func ParseConfig(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse(t.Name()+".yaml", []byte("listen: 127.0.0.1:0\n"+yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// StartConfig starts a node from cfg with log (nil: as Start) and shuts it down at t's
// cleanup; a test that shuts it down itself may, a second Shutdown is a no-op.
func StartConfig(t testing.TB, cfg *config.Config, log *slog.Logger) *Node {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		if testing.Verbose() {
			log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	ctx := context.Background()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &Node{Server: srv, Addr: srv.Addr(), Config: cfg}
}

// testWriter sends a node's log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

var _ io.Writer = testWriter{}
