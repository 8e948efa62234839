package authorizer

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
)

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock { return &testClock{t: time.Date(2024, 1, 20, 11, 55, 0, 0, time.UTC)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// connectEvent is a CONNECT event as the gateway builds it: handshake headers (without
// Connection/Upgrade, as in real CONNECT captures) and the query, if any.
func connectEvent(query map[string]string, headers map[string]string) *event.Event {
	ev := &event.Event{
		Headers: map[string]string{
			"Host":                  "localhost:8080",
			"Sec-WebSocket-Key":     "dGhlIHNhbXBsZSBub25jZQ==",
			"Sec-WebSocket-Version": "13",
			"X-Forwarded-For":       "127.0.0.1",
		},
		RequestContext: event.RequestContext{
			RouteKey:     event.RouteConnect,
			EventType:    event.Connect,
			Stage:        "dev",
			ConnectionID: "Dwz4leekPHcCG6Q=",
			APIID:        "wsgate",
			DomainName:   "localhost:8080",
			ConnectedAt:  1705751700000,
			Identity:     event.Identity{SourceIP: "127.0.0.1"},
		},
	}
	for k, v := range headers {
		ev.Headers[k] = v
	}
	ev.MultiValueHeaders = map[string][]string{}
	for k, v := range ev.Headers {
		ev.MultiValueHeaders[k] = []string{v}
	}
	if len(query) > 0 {
		ev.QueryStringParameters = query
		ev.MultiValueQueryStringParameters = map[string][]string{}
		for k, v := range query {
			ev.MultiValueQueryStringParameters[k] = []string{v}
		}
	}
	ev.RequestContext.StampRequest(time.Date(2024, 1, 20, 11, 55, 0, 0, time.UTC))
	return ev
}

func mustNew(t testing.TB, cfg config.Authorizer, o Options) Authorizer {
	t.Helper()
	a, err := New("test", cfg, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// wantStatus asserts that err is an *Error with status.
func wantStatus(t testing.TB, res *Result, err error, status int) {
	t.Helper()
	if status == 0 {
		if err != nil {
			t.Fatalf("want admitted, got %v", err)
		}
		if res == nil {
			t.Fatal("want a Result, got nil with nil error")
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error %d, got res=%+v err=%v", status, res, err)
	}
	if e.Status != status {
		t.Fatalf("want status %d, got %d (%v)", status, e.Status, err)
	}
	if res != nil {
		t.Fatalf("refusal came with a Result %+v", res)
	}
	want := map[int]string{401: "Unauthorized", 403: "Forbidden", 500: "Internal server error"}[status]
	if e.Message != want {
		t.Fatalf("message %q, want %q", e.Message, want)
	}
}

func sign(t testing.TB, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// counter counts requests to a test server.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) inc() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

var bg = context.Background()

var _ = http.StatusOK
