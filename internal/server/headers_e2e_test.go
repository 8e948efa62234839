package server_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// rawUpgrade sends an upgrade request whose header section is exactly lines (after the request
// line) and returns the response status and the open socket.
func rawUpgrade(t *testing.T, addr, target string, lines []string) (int, net.Conn) {
	t.Helper()
	return rawUpgradeOver(t, false, addr, target, lines)
}

// rawUpgradeOver is rawUpgrade over TLS (the node's local CA, not verified) when overTLS.
func rawUpgradeOver(t *testing.T, overTLS bool, addr, target string, lines []string) (int, net.Conn) {
	t.Helper()
	var conn net.Conn
	var err error
	if overTLS {
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second},
			Config: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}}
		conn, err = d.Dial("tcp", addr)
	} else {
		conn, err = net.DialTimeout("tcp", addr, 5*time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var b strings.Builder
	b.WriteString("GET " + target + " HTTP/1.1\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n")
	// Written on its own goroutine: a server that refuses a large head answers before it has
	// read all of it, and stops reading.
	wrote := make(chan error, 1)
	go func() {
		_, err := conn.Write([]byte(b.String()))
		wrote <- err
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read handshake answer: %v (write: %v)", err, <-wrote)
	}
	_ = resp.Body.Close()
	return resp.StatusCode, conn
}

func upgradeLines(addr string, extra ...string) []string {
	return append([]string{
		"Host: " + addr,
		"upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Version: 13",
	}, extra...)
}

var traceIDFormat = regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`)

// The CONNECT event and the REQUEST authorizer input carry the header lines as the client sent
// them: the last value in headers, all of them in multiValueHeaders, the client's spelling;
// Connection and Upgrade only in the authorizer input; an X-Amzn-Trace-Id in AWS's format.
// Repeated query parameters likewise.
func TestEventHeadersAsSent(t *testing.T) {
	for _, overTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "wss"}[overTLS], func(t *testing.T) { checkEventHeadersAsSent(t, overTLS) })
	}
}

func checkEventHeadersAsSent(t *testing.T, overTLS bool) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) { return 200, "" })
	authz := newAuthLambda(t, func(in events.APIGatewayCustomAuthorizerRequestTypeRequest) (any, string) {
		return policy("u1", "Allow", in.MethodArn, nil), ""
	})
	n := servertest.Start(t, fmt.Sprintf(requestAPI, fn.URL(), authz.URL()))
	status, _ := rawUpgradeOver(t, overTLS, n.Addr, "/dev?room=1&room=2&solo=x", upgradeLines(n.Addr,
		"X-Multi: a", "X-Multi: b", "x-api-key: k1", "authorization: Bearer t", "X-Token: tok"))
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status %d, want 101", status)
	}
	conn := fn.WaitEvent(t, "$connect", "")
	auth := lastAuthorizerInput(t, authz)

	type maps struct {
		single map[string]string
		multi  map[string][]string
	}
	for name, m := range map[string]maps{
		"CONNECT":    {conn.Headers, conn.MultiValueHeaders},
		"authorizer": {auth.Headers, auth.MultiValueHeaders},
	} {
		if got := m.single["X-Multi"]; got != "b" {
			t.Errorf("%s headers[X-Multi] = %q, want the last value \"b\"", name, got)
		}
		if got := m.multi["X-Multi"]; !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("%s multiValueHeaders[X-Multi] = %q, want [a b]", name, got)
		}
		for _, k := range []string{"x-api-key", "authorization", "upgrade"} {
			if k == "upgrade" && name == "CONNECT" {
				continue
			}
			if _, ok := m.single[k]; !ok {
				t.Errorf("%s headers lack %q in the client's spelling: %v", name, k, keys(m.single))
			}
		}
		for _, k := range []string{"X-Api-Key", "Authorization"} {
			if _, ok := m.single[k]; ok {
				t.Errorf("%s headers have Go's spelling %q", name, k)
			}
		}
		if m.single["x-api-key"] != "k1" || m.single["authorization"] != "Bearer t" {
			t.Errorf("%s headers values: %v", name, m.single)
		}
	}
	for _, k := range []string{"Connection", "upgrade"} {
		if _, ok := conn.Headers[k]; ok {
			t.Errorf("CONNECT headers carry %s; AWS passes it only to authorizers", k)
		}
		if _, ok := conn.MultiValueHeaders[k]; ok {
			t.Errorf("CONNECT multiValueHeaders carry %s", k)
		}
	}
	if auth.Headers["Connection"] != "Upgrade" || auth.Headers["upgrade"] != "websocket" {
		t.Errorf("authorizer headers Connection/upgrade = %q/%q, want the client's lines", auth.Headers["Connection"], auth.Headers["upgrade"])
	}
	if want := map[bool]string{false: "http", true: "https"}[overTLS]; conn.Headers["X-Forwarded-Proto"] != want {
		t.Errorf("CONNECT X-Forwarded-Proto = %q, want %q", conn.Headers["X-Forwarded-Proto"], want)
	}
	if tr := conn.Headers["X-Amzn-Trace-Id"]; !traceIDFormat.MatchString(tr) {
		t.Errorf("CONNECT X-Amzn-Trace-Id = %q, want AWS's Root=1-{8 hex}-{24 hex}", tr)
	}
	for name, q := range map[string][2]any{
		"CONNECT":    {conn.QueryStringParameters, conn.MultiValueQueryStringParameters},
		"authorizer": {auth.QueryStringParameters, auth.MultiValueQueryStringParameters},
	} {
		single, multi := q[0].(map[string]string), q[1].(map[string][]string)
		if single["room"] != "2" || single["solo"] != "x" {
			t.Errorf("%s queryStringParameters = %v, want room=2 (the last) and solo=x", name, single)
		}
		if !reflect.DeepEqual(multi["room"], []string{"1", "2"}) {
			t.Errorf("%s multiValueQueryStringParameters[room] = %v, want [1 2]", name, multi["room"])
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// A handshake over the header caps gets 431 before the authorizer and $connect run, whether it
// is over the count (a valid token among 20,000 small headers, or 101 lines within the bytes)
// or over the bytes.
func TestHandshakeHeaderCaps(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) { return 200, "" })
	authz := newAuthLambda(t, func(in events.APIGatewayCustomAuthorizerRequestTypeRequest) (any, string) {
		return policy("u1", "Allow", in.MethodArn, nil), ""
	})
	n := servertest.Start(t, fmt.Sprintf(requestAPI, fn.URL(), authz.URL()))
	many := func(k int) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = fmt.Sprintf("X-H%d: v", i)
		}
		return out
	}
	cases := map[string][]string{
		"20000 headers":   many(20000),
		"101 lines":       many(101 - 6), // with the 5 upgrade lines and X-Token
		"17 KB one value": {"X-Big: " + strings.Repeat("a", 17*1024)},
	}
	for name, extra := range cases {
		lines := upgradeLines(n.Addr, append([]string{"X-Token: allow"}, extra...)...)
		status, _ := rawUpgrade(t, n.Addr, "/dev?room=1", lines)
		if status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s: status %d, want 431", name, status)
		}
	}
	if c := authz.Calls(); c != 0 {
		t.Errorf("the authorizer ran %d times for refused handshakes", c)
	}
	if evs := fn.ProxyEvents(); len(evs) != 0 {
		t.Errorf("%d events reached the integration, want none (first: %s)", len(evs), evs[0].RequestContext.RouteKey)
	}
	// Within both caps: accepted.
	status, _ := rawUpgrade(t, n.Addr, "/dev?room=1", upgradeLines(n.Addr, append([]string{"X-Token: allow"}, many(100-6)...)...))
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("100 header lines: status %d, want 101", status)
	}
}

// The CONNECT event has the header lines as sent also when the upgrade is not the first request
// on its TCP connection: after a management call whose body holds a fake upgrade head and a
// plain GET, kept alive, the event has the upgrade's own lines (not Go's spelling, not the
// body's lines).
func TestEventHeadersAfterKeepAliveRequests(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) { return 200, "" })
	authz := newAuthLambda(t, func(in events.APIGatewayCustomAuthorizerRequestTypeRequest) (any, string) {
		return policy("u1", "Allow", in.MethodArn, nil), ""
	})
	n := servertest.Start(t, fmt.Sprintf(requestAPI, fn.URL(), authz.URL()))
	conn, err := net.DialTimeout("tcp", n.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	roundTrip := func(req string) int {
		t.Helper()
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("read answer: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.Close {
			t.Fatalf("%d answer closes the connection; the test needs it kept alive", resp.StatusCode)
		}
		return resp.StatusCode
	}
	fake := "GET /dev?room=1 HTTP/1.1\r\n" + strings.Join(upgradeLines(n.Addr, "X-Multi: fake", "X-Token: t"), "\r\n") + "\r\n\r\n"
	if got := roundTrip("POST /dev/@connections/nobody HTTP/1.1\r\nHost: " + n.Addr + "\r\nContent-Length: " +
		fmt.Sprint(len(fake)) + "\r\n\r\n" + fake); got != http.StatusGone {
		t.Fatalf("management call: %d, want 410", got)
	}
	if got := roundTrip("GET /metrics HTTP/1.1\r\nHost: " + n.Addr + "\r\n\r\n"); got >= 500 {
		t.Fatalf("plain GET: %d", got)
	}
	up := "GET /dev?room=1 HTTP/1.1\r\n" + strings.Join(upgradeLines(n.Addr,
		"X-Multi: a", "X-Multi: b", "x-api-key: k1", "X-Token: tok"), "\r\n") + "\r\n\r\n"
	if _, err := conn.Write([]byte(up)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade after two requests: %v %v", resp, err)
	}
	ev := fn.WaitEvent(t, "$connect", "")
	if got := ev.MultiValueHeaders["X-Multi"]; !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("CONNECT multiValueHeaders[X-Multi] = %q, want the upgrade's own [a b]", got)
	}
	if ev.Headers["x-api-key"] != "k1" || ev.Headers["X-Api-Key"] != "" {
		t.Errorf("CONNECT headers not in the client's spelling: %v", keys(ev.Headers))
	}
	if a := lastAuthorizerInput(t, authz); a.Headers["upgrade"] != "websocket" {
		t.Errorf("authorizer headers: %v, want the client's upgrade line", keys(a.Headers))
	}
}

// X-Amzn-Trace-Id reaches the integration called for $connect and no other: AWS traces only
// REST APIs with X-Ray, MESSAGE events have no headers and DISCONNECT events a fixed set
// (docs/aws-compatibility.md), so nothing carries a trace id into them.
func TestTraceIDOnlyOnConnect(t *testing.T) {
	type call struct{ path, trace string }
	calls := make(chan call, 8)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls <- call{r.URL.Path, r.Header.Get("X-Amzn-Trace-Id")}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(backend.Close)
	n := servertest.Start(t, fmt.Sprintf(`
routes:
  $connect: { integration: connect }
  $default: { integration: message, routeResponse: true }
  $disconnect: { integration: disconnect }
integrations:
  connect: { type: HTTP_PROXY, uri: "%[1]s/connect" }
  message: { type: HTTP_PROXY, uri: "%[1]s/message" }
  disconnect: { type: HTTP_PROXY, uri: "%[1]s/disconnect" }
`, backend.URL))
	c := dial(t, n.WS("/dev"))
	send(t, c, "hi")
	if got := read(t, c); got != "ok" {
		t.Fatalf("route response %q", got)
	}
	_ = c.Close(websocket.StatusNormalClosure, "")
	for range 3 {
		select {
		case got := <-calls:
			if want := got.path == "/connect"; traceIDFormat.MatchString(got.trace) != want {
				t.Errorf("%s call: X-Amzn-Trace-Id %q, want one only on /connect", got.path, got.trace)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("timed out waiting for the integration calls")
		}
	}
}

// With no $connect integration, a cached REQUEST authorizer keys its cache from an event holding
// only what its identity sources name; on a miss its function still gets the whole CONNECT
// input: every header line as sent (Connection and Upgrade included) and every query parameter.
func TestSourcedAuthorizerGetsTheWholeEventOnAMiss(t *testing.T) {
	authz := newAuthLambda(t, func(in events.APIGatewayCustomAuthorizerRequestTypeRequest) (any, string) {
		return policy("u1", "Allow", in.MethodArn, nil), ""
	})
	n := servertest.Start(t, fmt.Sprintf(`
routes:
  $connect: { authorizer: fnauth }
  $default: {}
authorizers:
  fnauth: { type: REQUEST, uri: my-authorizer, endpoint: "%s", identitySource: [ route.request.header.X-Token, route.request.querystring.room ], resultTtl: 1m }
`, authz.URL()))
	for range 2 { // a miss, then a hit from the cache
		status, _ := rawUpgradeOver(t, false, n.Addr, "/dev?room=1&room=2&solo=x", upgradeLines(n.Addr,
			"X-Multi: a", "X-Multi: b", "x-api-key: k1", "X-Token: tok"))
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("handshake status %d, want 101", status)
		}
	}
	if c := authz.Calls(); c != 1 {
		t.Errorf("authorizer called %d times, want once (the second handshake from the cache)", c)
	}
	auth := lastAuthorizerInput(t, authz)
	if auth.Headers["X-Multi"] != "b" || !slices.Equal(auth.MultiValueHeaders["X-Multi"], []string{"a", "b"}) ||
		auth.Headers["x-api-key"] != "k1" || auth.Headers["X-Token"] != "tok" {
		t.Errorf("authorizer headers %v / %v, want every line as sent", auth.Headers, auth.MultiValueHeaders)
	}
	if auth.Headers["Connection"] != "Upgrade" || auth.Headers["upgrade"] != "websocket" {
		t.Errorf("authorizer headers Connection/upgrade = %q/%q, want the client's lines", auth.Headers["Connection"], auth.Headers["upgrade"])
	}
	if tr := auth.Headers["X-Amzn-Trace-Id"]; !traceIDFormat.MatchString(tr) {
		t.Errorf("authorizer X-Amzn-Trace-Id = %q, want AWS's format", tr)
	}
	if auth.QueryStringParameters["solo"] != "x" || !slices.Equal(auth.MultiValueQueryStringParameters["room"], []string{"1", "2"}) {
		t.Errorf("authorizer query %v / %v, want every parameter", auth.QueryStringParameters, auth.MultiValueQueryStringParameters)
	}
}
