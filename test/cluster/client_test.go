package clustertest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

const (
	accessKey = "AKIDCLUSTERTEST"
	secretKey = "cluster-test-secret-key"
	jwtSecret = "cluster-test-jwt-secret-0123456789abcdef"
)

// backend is the fake Lambda (harness.Lambda) every node's integration calls: it answers a
// message "id" with the connection id; its recorded events are read back, and it notes when
// each $disconnect came.
type backend struct {
	*harness.Lambda
	mu     sync.Mutex
	discAt map[string]time.Time // connection id -> when its (last) $disconnect came
	// A message "hold" is answered (with "held") only once release is closed; held gets its
	// connection id when it arrives.
	held     chan string
	release  chan struct{}
	answered atomic.Int32 // held messages answered
}

func newBackend(t testing.TB) *backend {
	b := &backend{discAt: map[string]time.Time{}, held: make(chan string, 16), release: make(chan struct{})}
	b.Lambda = harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		switch ev.RequestContext.RouteKey {
		case "$default":
			if ev.Body == "hold" {
				b.held <- ev.RequestContext.ConnectionID
				select {
				case <-b.release:
				case <-time.After(harness.Deadline):
				}
				b.answered.Add(1)
				return 200, "held"
			}
			return 200, ev.RequestContext.ConnectionID
		case "$disconnect":
			b.mu.Lock()
			b.discAt[ev.RequestContext.ConnectionID] = time.Now()
			b.mu.Unlock()
		}
		return 200, ""
	})
	return b
}

// disconnectEvents returns the raw $disconnect events of each connection, in arrival order.
func (b *backend) disconnectEvents() map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, raw := range b.Events() {
		var ev map[string]any
		if json.Unmarshal(raw, &ev) != nil {
			continue
		}
		rc, _ := ev["requestContext"].(map[string]any)
		if rc["routeKey"] != "$disconnect" {
			continue
		}
		id, _ := rc["connectionId"].(string)
		out[id] = append(out[id], ev)
	}
	return out
}

// disconnect returns the raw requestContext of id's last $disconnect, if it ran.
func (b *backend) disconnect(id string) (map[string]any, bool) {
	evs := b.disconnectEvents()[id]
	if len(evs) == 0 {
		return nil, false
	}
	rc, _ := evs[len(evs)-1]["requestContext"].(map[string]any)
	return rc, true
}

// routeKeys is the route keys of id's events, in the order they came.
func (b *backend) routeKeys(id string) []string {
	var keys []string
	for _, ev := range b.ProxyEvents() {
		if ev.RequestContext.ConnectionID == id {
			keys = append(keys, ev.RequestContext.RouteKey)
		}
	}
	return keys
}

// disconnectedAt is when id's $disconnect came.
func (b *backend) disconnectedAt(id string) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.discAt[id]
}

// disconnectCount is how many $disconnect events came for id.
func (b *backend) disconnectCount(id string) int { return len(b.disconnectEvents()[id]) }

// disconnects is how many connections had a $disconnect.
func (b *backend) disconnects() int { return len(b.disconnectEvents()) }

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
func connect(t testing.TB, g *harness.Process, user string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, wsURL(g, "?token="+token(t, user)), nil)
	if err != nil {
		t.Fatalf("dial node %s as %s: %v", g.Name, user, err)
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
func sdk(g *harness.Process) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint:     aws.String(base(g)),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		RetryMaxAttempts: 1,
	})
}

// call sends a SigV4-signed extension request to g and returns status and body.
func call(t testing.TB, g *harness.Process, method, path string, body []byte) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return harness.SignedCall(t, ctx, method, base(g)+path, body, accessKey, secretKey)
}

// callJSON is call with a 2xx check and the body decoded into a map.
func callJSON(t testing.TB, g *harness.Process, method, path string, body []byte) map[string]any {
	t.Helper()
	status, out := call(t, g, method, path, body)
	if status/100 != 2 {
		t.Fatalf("%s %s on node %s = %d %s", method, path, g.Name, status, out)
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

// status is a plain GET's status code (0 when the request failed).
func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
