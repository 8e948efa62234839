package harness

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// Lambda is a fake AWS Lambda: an HTTP server speaking the Lambda Invoke API
// (POST /2015-03-31/functions/{name}/invocations, a function error as X-Amz-Function-Error)
// with the test's function inside. It is a fake because Lambda itself cannot run here (no AWS
// account, no network); the gateway's real Lambda client, pointed at it through an
// integration's or authorizer's endpoint, is what the tests exercise. It records every event
// it is sent (the first MaxRecorded), raw, for assertions.
type Lambda struct {
	srv   *httptest.Server
	calls atomic.Int64
	fn    func(event []byte) (result any, fnErr string)

	mu     sync.Mutex
	events [][]byte
}

// MaxRecorded bounds what a Lambda keeps: a benchmark may call it millions of times.
const MaxRecorded = 10000

// NewLambda starts a fake Lambda running fn for every invocation, whatever the function name.
// fn gets the event as sent and returns the result (marshalled to JSON) or, with a non-empty
// fnErr, fails as an unhandled function error with that message. It stops at t's cleanup.
func NewLambda(t testing.TB, fn func(event []byte) (result any, fnErr string)) *Lambda {
	t.Helper()
	l := &Lambda{fn: fn}
	l.srv = httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(l.srv.Close)
	return l
}

// NewProxyLambda starts a fake Lambda for WebSocket proxy events (AWS_PROXY integrations):
// reply gets the decoded event and returns the proxy result's statusCode and body; a negative
// status is an unhandled function error. A nil reply answers 200 with no body.
func NewProxyLambda(t testing.TB, reply func(ev events.APIGatewayWebsocketProxyRequest) (status int, body string)) *Lambda {
	return NewLambda(t, func(raw []byte) (any, string) {
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, "not a WebSocket proxy event: " + err.Error()
		}
		status, body := 200, ""
		if reply != nil {
			status, body = reply(ev)
		}
		if status < 0 {
			return nil, "boom"
		}
		return map[string]any{"statusCode": status, "body": body}, ""
	})
}

func (l *Lambda) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/") || !strings.HasSuffix(r.URL.Path, "/invocations") {
		http.Error(w, "not the Lambda Invoke API path: "+r.URL.Path, http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || !json.Valid(body) {
		http.Error(w, "the event is not JSON", http.StatusBadRequest)
		return
	}
	l.calls.Add(1)
	l.mu.Lock()
	if len(l.events) < MaxRecorded {
		l.events = append(l.events, body)
	}
	l.mu.Unlock()
	out, fnErr := l.fn(body)
	if fnErr != "" {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		b, _ := json.Marshal(map[string]string{"errorMessage": fnErr, "errorType": "Error"})
		_, _ = w.Write(b)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(b)
}

// Server is the fake's HTTP server.
func (l *Lambda) Server() *httptest.Server { return l.srv }

// URL is the endpoint to configure (integrations' and authorizers' endpoint key).
func (l *Lambda) URL() string { return l.srv.URL }

// Close stops the server: later invocations fail as an unreachable Lambda would.
func (l *Lambda) Close() { l.srv.Close() }

// Calls is how many invocations came, recorded or not.
func (l *Lambda) Calls() int64 { return l.calls.Load() }

// Events returns the events recorded so far, raw, in arrival order.
func (l *Lambda) Events() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][]byte(nil), l.events...)
}

// ProxyEvents decodes the recorded events as WebSocket proxy events.
func (l *Lambda) ProxyEvents() []events.APIGatewayWebsocketProxyRequest {
	raw := l.Events()
	out := make([]events.APIGatewayWebsocketProxyRequest, 0, len(raw))
	for _, b := range raw {
		var ev events.APIGatewayWebsocketProxyRequest
		_ = json.Unmarshal(b, &ev)
		out = append(out, ev)
	}
	return out
}

// RawEvent is the i-th recorded event decoded as JSON, for fields the typed event lacks.
func (l *Lambda) RawEvent(i int) map[string]any {
	var raw map[string]any
	_ = json.Unmarshal(l.Events()[i], &raw)
	return raw
}

// Count is how many WebSocket proxy events of routeKey were recorded.
func (l *Lambda) Count(routeKey string) int {
	n := 0
	for _, ev := range l.ProxyEvents() {
		if ev.RequestContext.RouteKey == routeKey {
			n++
		}
	}
	return n
}

// ConnectionIDs lists the connection ids of the recorded $connect events, in arrival order.
func (l *Lambda) ConnectionIDs() []string {
	var ids []string
	for _, ev := range l.ProxyEvents() {
		if ev.RequestContext.RouteKey == "$connect" {
			ids = append(ids, ev.RequestContext.ConnectionID)
		}
	}
	return ids
}

// NthConnectionID waits (Eventually) for the n-th (1-based) $connect event and returns its
// connection id.
func (l *Lambda) NthConnectionID(t testing.TB, n int) string {
	t.Helper()
	var id string
	Eventually(t, "$connect #"+strconv.Itoa(n), func() bool {
		if ids := l.ConnectionIDs(); len(ids) >= n {
			id = ids[n-1]
			return true
		}
		return false
	})
	return id
}

// WaitEvent waits (Eventually) for a WebSocket proxy event of routeKey (and of connection id,
// unless id is "") and returns the first.
func (l *Lambda) WaitEvent(t testing.TB, routeKey, id string) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	var ev events.APIGatewayWebsocketProxyRequest
	what := "a " + routeKey + " event"
	if id != "" {
		what += " of " + id
	}
	Eventually(t, what, func() bool {
		for _, e := range l.ProxyEvents() {
			if e.RequestContext.RouteKey == routeKey && (id == "" || e.RequestContext.ConnectionID == id) {
				ev = e
				return true
			}
		}
		return false
	})
	return ev
}
