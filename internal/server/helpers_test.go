package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/server"
	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// node is a gateway started in-process on a free loopback port.
type node struct {
	srv  *server.Server
	addr string
	cfg  *config.Config
}

// startNode parses yaml (listen is forced to 127.0.0.1:0), starts a node and stops it at cleanup
// (servertest.Start).
func startNode(t *testing.T, yaml string) *node { return wrapNode(servertest.Start(t, yaml)) }

// startConfig starts a node from cfg (servertest.StartConfig).
func startConfig(t *testing.T, cfg *config.Config) *node {
	return wrapNode(servertest.StartConfig(t, cfg, nil))
}

func wrapNode(h *servertest.Node) *node { return &node{srv: h.Server, addr: h.Addr, cfg: h.Config} }

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

// eventLog is the fake Lambda (harness.Lambda) of the WebSocket routes: it records every event
// and answers with reply.
type eventLog struct {
	*harness.Lambda
	srv *httptest.Server
}

// newLambda starts a fake Lambda for any function name; reply returns the proxy result's status
// and body (negative status: a function error), nil answers 200.
func newLambda(t *testing.T, reply func(ev events.APIGatewayWebsocketProxyRequest) (int, string)) *eventLog {
	t.Helper()
	l := harness.NewProxyLambda(t, reply)
	return &eventLog{Lambda: l, srv: l.Server()}
}

func (l *eventLog) all() []events.APIGatewayWebsocketProxyRequest { return l.ProxyEvents() }

func (l *eventLog) rawAt(i int) map[string]any {
	var raw map[string]any
	_ = json.Unmarshal(l.Events()[i], &raw)
	return raw
}

// waitFor polls cond until it holds or wait.Deadline (20 s) passes.
var waitFor = harness.Eventually

// eventOf waits for the first event of the given route key.
func (l *eventLog) eventOf(t *testing.T, routeKey string) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	ev, _ := l.WaitEvent(t, routeKey, "")
	return ev
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
