package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// The embedded demo answers in-process: a newcomer's first connection works with no backend.
func TestDemoConfigEchoesAndPongs(t *testing.T) {
	n := servertest.StartConfig(t, withFreePort(config.Default()), nil)
	c := dial(t, n.WS("/dev"))
	send(t, c, `{"action":"ping"}`)
	if got := read(t, c); !strings.Contains(got, `"pong"`) {
		t.Fatalf("ping answer = %s, want a pong", got)
	}
	send(t, c, `{"action":"hello","text":"hi"}`)
	got := read(t, c)
	var m map[string]any
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Fatalf("echo answer is not JSON: %s", got)
	}
	if !strings.Contains(got, "hi") || m["connectionId"] == "" {
		t.Fatalf("echo answer = %s, want the message and the connection id", got)
	}
}

func withFreePort(cfg *config.Config) *config.Config {
	cfg.Listen = "127.0.0.1:0"
	return cfg
}

const lambdaAPI = `
routes:
  $connect: { integration: fn }
  $disconnect: { integration: fn }
  $default: { integration: fn, routeResponse: true }
  join: { integration: fn, routeResponse: true }
integrations:
  fn: { type: AWS_PROXY, uri: chat-handler, endpoint: "%s" }
`

// The Lambda proxy event is AWS's, field for field: decoded into aws-lambda-go's own type.
func TestLambdaProxyEventShape(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		return 200, "re:" + ev.Body
	})
	n := servertest.Start(t, "stage: prod\n"+fmt.Sprintf(lambdaAPI, fn.URL()))
	c := dial(t, n.WS("/prod/rooms/42?token=abc&token=def&x=1"), func(o *websocket.DialOptions) {
		o.HTTPHeader = http.Header{"User-Agent": {"wsgate-test/1"}, "X-Custom": {"v"}}
	})
	send(t, c, `{"action":"join","room":"42"}`)
	if got := read(t, c); got != `re:{"action":"join","room":"42"}` {
		t.Fatalf("route response = %q", got)
	}
	send(t, c, `not json`)
	if got := read(t, c); got != "re:not json" {
		t.Fatalf("$default response = %q", got)
	}
	_ = c.Close(websocket.StatusNormalClosure, "bye")
	disc := fn.WaitEvent(t, "$disconnect", "")
	evs := fn.ProxyEvents()
	conn, join, def := evs[0], evs[1], evs[2]

	idFormat := regexp.MustCompile(`^[A-Za-z0-9_-]{15}=$`)
	for _, ev := range []events.APIGatewayWebsocketProxyRequest{conn, join, def, disc} {
		rc := ev.RequestContext
		if !idFormat.MatchString(rc.ConnectionID) || !idFormat.MatchString(rc.RequestID) {
			t.Errorf("%s: ids %q / %q not in AWS's 16-char format", rc.RouteKey, rc.ConnectionID, rc.RequestID)
		}
		if rc.ExtendedRequestID != rc.RequestID || rc.MessageDirection != "IN" || rc.Stage != "prod" ||
			rc.APIID == "" || rc.DomainName == "" || rc.ConnectionID != conn.RequestContext.ConnectionID ||
			rc.ConnectedAt != conn.RequestContext.ConnectedAt || rc.RequestTimeEpoch < rc.ConnectedAt {
			t.Errorf("%s: requestContext %+v", rc.RouteKey, rc)
		}
		if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.RequestTime); err != nil {
			t.Errorf("%s: requestTime %q not CLF: %v", rc.RouteKey, rc.RequestTime, err)
		}
		if rc.Identity.SourceIP != "127.0.0.1" {
			t.Errorf("%s: sourceIp %q", rc.RouteKey, rc.Identity.SourceIP)
		}
	}
	if conn.RequestContext.EventType != "CONNECT" || conn.RequestContext.RouteKey != "$connect" ||
		// Go's HTTP client writes "Sec-Websocket-Key"; the event keeps what was sent.
		conn.Headers["Sec-Websocket-Key"] == "" || conn.Headers["X-Custom"] != "v" ||
		conn.MultiValueHeaders["X-Custom"][0] != "v" || conn.QueryStringParameters["token"] != "def" ||
		len(conn.MultiValueQueryStringParameters["token"]) != 2 || conn.Body != "" ||
		conn.RequestContext.Identity.UserAgent != "wsgate-test/1" {
		t.Errorf("CONNECT event: %+v", conn)
	}
	if join.RequestContext.EventType != "MESSAGE" || join.RequestContext.RouteKey != "join" ||
		join.Body != `{"action":"join","room":"42"}` || join.RequestContext.MessageID == "" || join.Headers != nil {
		t.Errorf("MESSAGE event: %+v", join)
	}
	if def.RequestContext.RouteKey != "$default" {
		t.Errorf("fallback routeKey = %q, want $default (AWS reports the selected route)", def.RequestContext.RouteKey)
	}
	if disc.RequestContext.EventType != "DISCONNECT" || disc.Headers["X-Forwarded-For"] != "" ||
		disc.Headers["Host"] == "" {
		t.Errorf("DISCONNECT event: %+v", disc)
	}
	raw := fn.RawEvent(len(evs) - 1)
	rc := raw["requestContext"].(map[string]any)
	if rc["disconnectStatusCode"] != float64(1000) || rc["disconnectReason"] != "bye" {
		t.Errorf("disconnect code/reason = %v/%v, want the client's 1000/bye", rc["disconnectStatusCode"], rc["disconnectReason"])
	}
	// wsgate's extension: the path after the stage, on every event.
	for i := range evs {
		if p := fn.RawEvent(i)["path"]; p != "/rooms/42" {
			t.Errorf("event %d path = %v, want /rooms/42", i, p)
		}
	}
	if _, ok := fn.RawEvent(0)["requestContext"].(map[string]any)["messageId"]; ok {
		t.Errorf("CONNECT event carries messageId; AWS's current events do not")
	}
}

// An HTTP_PROXY backend gets the frame, the mapped connectionId header and the ws-uri path.
func TestHTTPProxyIntegration(t *testing.T) {
	type call struct {
		connID, wsURI, body, ctype string
	}
	var mu sync.Mutex
	var calls []call
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, call{r.Header.Get("connectionId"), r.Header.Get("ws-uri"), string(b), r.Header.Get("Content-Type")})
		mu.Unlock()
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer backend.Close()
	n := servertest.Start(t, fmt.Sprintf(`
routes:
  $default: { integration: app, routeResponse: true }
  oneway: { integration: app }
integrations:
  app:
    type: HTTP_PROXY
    uri: %s/ws
    requestParameters:
      integration.request.header.connectionId: context.connectionId
`, backend.URL))
	c := dial(t, n.WS("/dev/chat/lobby"))
	send(t, c, `{"action":"oneway"}`)
	send(t, c, `{"action":"other","n":1}`)
	if got := read(t, c); got != `{"ok":true}` {
		t.Fatalf("answer = %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 2 {
		t.Fatalf("backend calls = %d, want 2 (the one-way route sends nothing back)", len(calls))
	}
	if calls[0].body != `{"action":"oneway"}` || calls[1].body != `{"action":"other","n":1}` {
		t.Errorf("bodies = %q, %q", calls[0].body, calls[1].body)
	}
	if calls[0].connID == "" || calls[0].wsURI != "/chat/lobby" || !strings.HasPrefix(calls[0].ctype, "application/json") {
		t.Errorf("backend saw %+v", calls[0])
	}
}

// Route selection: nested paths, literals, fallbacks; with no route and no $default, AWS's
// Forbidden frame, and the socket stays open.
func TestRouteSelection(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		return 200, ev.RequestContext.RouteKey
	})
	n := servertest.Start(t, fmt.Sprintf(`
routeSelectionExpression: $request.body.meta.type
routes:
  chat: { integration: fn, routeResponse: true }
integrations:
  fn: { type: AWS_PROXY, uri: f, endpoint: "%s" }
`, fn.URL()))
	c := dial(t, n.WS("/dev"))
	send(t, c, `{"meta":{"type":"chat"}}`)
	if got := read(t, c); got != "chat" {
		t.Fatalf("nested route = %q", got)
	}
	for _, msg := range []string{`{"meta":{"type":"nope"}}`, `not json`, `[1,2]`, `{"action":"chat"}`} {
		send(t, c, msg)
		got := read(t, c)
		want := regexp.MustCompile(`^\{"message": "Forbidden", "connectionId":"[A-Za-z0-9_-]{15}=", "requestId":"[A-Za-z0-9_-]{15}="\}$`)
		if !want.MatchString(got) {
			t.Fatalf("%s: got %q, want AWS's Forbidden frame", msg, got)
		}
	}
	send(t, c, `{"meta":{"type":"chat"}}`)
	if got := read(t, c); got != "chat" {
		t.Fatalf("socket unusable after Forbidden frames: %q", got)
	}
}

// Messages of one connection reach the integration in order, even when it is slow.
func TestMessagesInOrder(t *testing.T) {
	var mu sync.Mutex
	var got []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if len(b)%3 == 0 {
			time.Sleep(2 * time.Millisecond) // uneven latency must not reorder
		}
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	}))
	defer backend.Close()
	n := servertest.Start(t, fmt.Sprintf(`
routes: { $default: { integration: app } }
integrations: { app: { type: HTTP_PROXY, uri: %s } }
`, backend.URL))
	c := dial(t, n.WS("/dev"))
	const count = 60
	for i := range count {
		send(t, c, fmt.Sprintf("m%d", i))
	}
	harness.Eventually(t, "all messages", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == count })
	mu.Lock()
	defer mu.Unlock()
	for i, m := range got {
		if m != fmt.Sprintf("m%d", i) {
			t.Fatalf("message %d = %q: out of order: %v", i, m, got)
		}
	}
}

// A failing or timed-out integration gives AWS's error frame byte for byte and keeps the socket.
func TestIntegrationFailureFrame(t *testing.T) {
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block) // runs first: release the handler so Close does not wait for it
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) { return -1, "" })
	n := servertest.Start(t, fmt.Sprintf(`
routes:
  slow: { integration: slow, routeResponse: true }
  boom: { integration: boom, routeResponse: true }
  $default: { integration: ok, routeResponse: true }
integrations:
  slow: { type: HTTP_PROXY, uri: %s, timeout: 50ms }
  boom: { type: AWS_PROXY, uri: f, endpoint: "%s" }
  ok:   { type: MOCK, requestTemplates: { $default: '{"statusCode": 200}' }, responses: { $default: { templates: { $default: 'still here' } } } }
`, slow.URL, fn.URL()))
	c := dial(t, n.WS("/dev"))
	frame := regexp.MustCompile(`^\{"message": "Internal server error", "connectionId":"[A-Za-z0-9_-]{15}=", "requestId":"[A-Za-z0-9_-]{15}="\}$`)
	for _, action := range []string{"slow", "boom"} {
		send(t, c, `{"action":"`+action+`"}`)
		if got := read(t, c); !frame.MatchString(got) {
			t.Fatalf("%s: got %q, want AWS's Internal server error frame", action, got)
		}
	}
	send(t, c, `{"action":"x"}`)
	if got := read(t, c); got != "still here" {
		t.Fatalf("after failures: %q", got)
	}
}

// $connect gates the 101: a non-2xx answer refuses with that status, a failure with 502, and
// Sec-WebSocket-Protocol is echoed only when the integration returns it.
func TestConnectOutcomes(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("case") {
		case "deny":
			w.WriteHeader(http.StatusUnauthorized)
		case "proto":
			w.Header().Set("Sec-WebSocket-Protocol", "chat.v2")
		}
	}))
	defer backend.Close()
	n := servertest.Start(t, fmt.Sprintf(`
routes:
  $connect: { integration: gate }
integrations:
  gate:
    type: HTTP_PROXY
    uri: %s
    requestParameters:
      integration.request.querystring.case: route.request.querystring.case
`, backend.URL))
	if _, resp, err := tryDial(n.WS("/dev?case=deny")); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("denied connect: err=%v resp=%v, want HTTP 401", err, resp)
	}
	c := dial(t, n.WS("/dev?case=proto"), func(o *websocket.DialOptions) { o.Subprotocols = []string{"chat.v2"} })
	if c.Subprotocol() != "chat.v2" {
		t.Fatalf("subprotocol = %q, want chat.v2 echoed from the integration", c.Subprotocol())
	}
	c2 := dial(t, n.WS("/dev?case=plain"))
	if c2.Subprotocol() != "" {
		t.Fatalf("subprotocol = %q without the integration returning one", c2.Subprotocol())
	}
	backend.Close()
	if _, resp, err := tryDial(n.WS("/dev?case=plain")); err == nil || resp == nil || resp.StatusCode != 502 {
		t.Fatalf("connect with unreachable integration: err=%v resp=%v, want HTTP 502", err, resp)
	}
}

// Wrong stage and plain HTTP requests are refused clearly.
func TestStageAndUpgradeChecks(t *testing.T) {
	n := servertest.StartConfig(t, withFreePort(config.Default()), nil)
	if _, resp, err := tryDial(n.WS("/other")); err == nil || resp.StatusCode != 403 {
		t.Fatalf("wrong stage: %v %v", err, resp)
	}
	resp, err := http.Get("http://" + n.Addr + "/dev")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden { // AWS's answer to a plain GET: TestRequestsThatAreNotUpgrades
		t.Fatalf("plain GET = %d, want 403", resp.StatusCode)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get("http://" + n.Addr + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s = %d", p, resp.StatusCode)
		}
	}
}

var _ = context.Background
