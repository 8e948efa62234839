package clustertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

const (
	accessKey = "AKIDCLUSTERTEST"
	secretKey = "cluster-test-secret-key"
	jwtSecret = "cluster-test-jwt-secret-0123456789abcdef"
)

// backend is a Lambda-Invoke-compatible recorder shared by every node: it answers a message
// "id" with the connection id and keeps every $disconnect event, raw.
type backend struct {
	srv    *httptest.Server
	mu     sync.Mutex
	disc   map[string]map[string]any // connection id -> raw $disconnect event
	ndis   map[string]int            // connection id -> how many $disconnect events came
	discAt map[string]time.Time      // connection id -> when its (last) $disconnect came
	routes map[string][]string       // connection id -> the route keys of its events, in arrival order
}

func newBackend(t testing.TB) *backend {
	b := &backend{disc: map[string]map[string]any{}, ndis: map[string]int{}, discAt: map[string]time.Time{}, routes: map[string][]string{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := ""
		b.mu.Lock()
		b.routes[ev.RequestContext.ConnectionID] = append(b.routes[ev.RequestContext.ConnectionID], ev.RequestContext.RouteKey)
		b.mu.Unlock()
		switch ev.RequestContext.RouteKey {
		case "$disconnect":
			var raw map[string]any
			_ = json.Unmarshal(body, &raw)
			b.mu.Lock()
			b.disc[ev.RequestContext.ConnectionID] = raw
			b.ndis[ev.RequestContext.ConnectionID]++
			b.discAt[ev.RequestContext.ConnectionID] = time.Now()
			b.mu.Unlock()
		case "$default":
			out = ev.RequestContext.ConnectionID
		}
		res, _ := json.Marshal(map[string]any{"statusCode": 200, "body": out})
		_, _ = w.Write(res)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// disconnect returns the raw requestContext of id's $disconnect, if it ran.
func (b *backend) disconnect(id string) (map[string]any, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ev, ok := b.disc[id]
	if !ok {
		return nil, false
	}
	rc, _ := ev["requestContext"].(map[string]any)
	return rc, true
}

// routeKeys is the route keys of id's events, in the order they came.
func (b *backend) routeKeys(id string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.routes[id])
}

// disconnectedAt is when id's $disconnect came.
func (b *backend) disconnectedAt(id string) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.discAt[id]
}

// disconnectCount is how many $disconnect events came for id.
func (b *backend) disconnectCount(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ndis[id]
}

func (b *backend) disconnects() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.disc)
}

// client is a WebSocket client whose frames are read in the background into a channel.
type client struct {
	t    testing.TB
	id   string
	ws   *websocket.Conn
	msgs chan string
	done chan struct{}
	err  error // read error that ended the loop; valid after done
}

func token(t testing.TB, user string) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": user, "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// connect opens a socket on g as user and learns its connection id.
func connect(t testing.TB, g *gw, user string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, g.wsURL("?token="+token(t, user)), nil)
	if err != nil {
		t.Fatalf("dial node %s as %s: %v", g.node, user, err)
	}
	ws.SetReadLimit(1 << 20)
	c := &client{t: t, ws: ws, msgs: make(chan string, 1024), done: make(chan struct{})}
	t.Cleanup(func() { _ = ws.CloseNow() })
	go func() {
		defer close(c.done)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				c.err = err
				return
			}
			c.msgs <- string(data)
		}
	}()
	if err := ws.Write(ctx, websocket.MessageText, []byte("id")); err != nil {
		t.Fatalf("write: %v", err)
	}
	c.id = c.next()
	return c
}

// next returns the next frame, failing after 10s.
func (c *client) next() string {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-c.done:
		c.t.Fatalf("connection %s closed while a frame was expected: %v", c.id, c.err)
	case <-time.After(10 * time.Second):
		c.t.Fatalf("connection %s: no frame within 10s", c.id)
	}
	return ""
}

// closed waits for the server to close the socket and returns the close code.
func (c *client) closed() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		c.t.Fatalf("connection %s still open after 15s", c.id)
	}
	var ce websocket.CloseError
	if errors.As(c.err, &ce) {
		return ce.Code
	}
	return -1
}

// sdk is the unmodified AWS SDK management client pointed at g.
func sdk(g *gw) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint:     aws.String(g.base()),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		RetryMaxAttempts: 1,
	})
}

// call sends a SigV4-signed extension request to g and returns status and body.
func call(t testing.TB, g *gw, method, path string, body []byte) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.base()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s on node %s: %v", method, path, g.node, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// callJSON is call with a 2xx check and the body decoded into a map.
func callJSON(t testing.TB, g *gw, method, path string, body []byte) map[string]any {
	t.Helper()
	status, out := call(t, g, method, path, body)
	if status/100 != 2 {
		t.Fatalf("%s %s on node %s = %d %s", method, path, g.node, status, out)
	}
	m := map[string]any{}
	if strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, out, err)
		}
	}
	return m
}

func esc(id string) string { return strings.ReplaceAll(id, "=", "%3D") }

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// status is a plain GET's status code (0 when the request failed).
func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
