package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/server"
)

// node is a gateway started in-process on a free loopback port.
type node struct {
	srv  *server.Server
	addr string
	cfg  *config.Config
}

// startNode parses yaml (listen is forced to 127.0.0.1:0), starts a node and stops it at cleanup.
func startNode(t *testing.T, yaml string) *node {
	t.Helper()
	cfg, err := config.Parse(t.Name()+".yaml", []byte("listen: 127.0.0.1:0\n"+yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return startConfig(t, cfg)
}

func startConfig(t *testing.T, cfg *config.Config) *node {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx := context.Background()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	n := &node{srv: srv, addr: srv.Addr(), cfg: cfg}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return n
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (n *node) url(path string) string { return "ws://" + n.addr + path }

// dial connects a real WebSocket client and closes it at cleanup.
func dial(t *testing.T, url string, opts ...func(*websocket.DialOptions)) *websocket.Conn {
	t.Helper()
	c, resp, err := tryDial(url, opts...)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func tryDial(url string, opts ...func(*websocket.DialOptions)) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := &websocket.DialOptions{}
	for _, f := range opts {
		f(o)
	}
	return websocket.Dial(ctx, url, o)
}

func send(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func read(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(data)
}

// readClose reads until the server closes and returns the close status and reason.
func readClose(t *testing.T, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		t.Fatalf("expected a close frame, got %v", err)
	}
}

// eventLog is a Lambda-Invoke-compatible (or plain HTTP) backend that records every event.
type eventLog struct {
	mu     sync.Mutex
	events []events.APIGatewayWebsocketProxyRequest
	raw    []map[string]any
	reply  func(ev events.APIGatewayWebsocketProxyRequest) (status int, body string)
	srv    *httptest.Server
}

// newLambda starts an httptest server speaking the Lambda Invoke API for any function name.
func newLambda(t *testing.T, reply func(ev events.APIGatewayWebsocketProxyRequest) (int, string)) *eventLog {
	t.Helper()
	l := &eventLog{reply: reply}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/") || !strings.HasSuffix(r.URL.Path, "/invocations") {
			http.Error(w, "not the Lambda Invoke API path: "+r.URL.Path, http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var raw map[string]any
		_ = json.Unmarshal(body, &raw)
		l.mu.Lock()
		l.events = append(l.events, ev)
		l.raw = append(l.raw, raw)
		l.mu.Unlock()
		status, out := 200, ""
		if l.reply != nil {
			status, out = l.reply(ev)
		}
		if status < 0 { // a function error
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_, _ = w.Write([]byte(`{"errorMessage":"boom","errorType":"Error"}`))
			return
		}
		res, _ := json.Marshal(map[string]any{"statusCode": status, "body": out})
		_, _ = w.Write(res)
	}))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *eventLog) all() []events.APIGatewayWebsocketProxyRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]events.APIGatewayWebsocketProxyRequest(nil), l.events...)
}

func (l *eventLog) rawAt(i int) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.raw[i]
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// eventOf waits for the first event of the given route key.
func (l *eventLog) eventOf(t *testing.T, routeKey string) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	var found events.APIGatewayWebsocketProxyRequest
	waitFor(t, "a "+routeKey+" event", func() bool {
		for _, ev := range l.all() {
			if ev.RequestContext.RouteKey == routeKey {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// mgmtClient is the unmodified AWS SDK management API client pointed at a node.
func mgmtClient(n *node, akid, secret string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint:     aws.String(fmt.Sprintf("http://%s/%s", n.addr, n.cfg.Stage)),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, ""),
		RetryMaxAttempts: 1,
	})
}
