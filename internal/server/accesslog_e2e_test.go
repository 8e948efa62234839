package server_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// checkAccessLine asserts the keys every access-log line carries.
func checkAccessLine(t *testing.T, rec map[string]any, routeKey string, status float64, called bool) {
	t.Helper()
	for _, k := range []string{"requestId", "connectionId"} {
		if s, _ := rec[k].(string); len(s) != 16 {
			t.Errorf("%s line: %s = %v, want a 16-char id", rec["msg"], k, rec[k])
		}
	}
	if rec["routeKey"] != routeKey {
		t.Errorf("%s line: routeKey = %v, want %s", rec["msg"], rec["routeKey"], routeKey)
	}
	if rec["status"] != status {
		t.Errorf("%s line: status = %v, want %v", rec["msg"], rec["status"], status)
	}
	lat, ok := rec["integrationLatency"].(float64)
	if !ok || lat < 0 || (called && lat == 0) || (!called && lat != 0) {
		t.Errorf("%s line: integrationLatency = %v (called: %v)", rec["msg"], rec["integrationLatency"], called)
	}
}

// One access-log line per connect, message and disconnect, each with requestId, connectionId,
// routeKey, status and integration latency.
func TestAccessLog(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		if ev.QueryStringParameters["deny"] != "" {
			return 403, ""
		}
		return 200, "ok"
	})
	n, logs := servertest.StartLogged(t, fmt.Sprintf(`
routes:
  $connect: { integration: fn }
  $disconnect: { integration: fn }
  $default: { integration: fn, routeResponse: true }
  noop: {}
integrations:
  fn: { type: AWS_PROXY, uri: app, endpoint: "%s" }
`, fn.URL()))
	c := dial(t, n.WS("/dev"))
	id := fn.NthConnectionID(t, 1)
	send(t, c, `{"action":"x"}`)
	read(t, c)
	send(t, c, `{"action":"noop"}`)
	// A message still queued when its connection closes is dropped (issue 11): close only once
	// the noop route has run.
	harness.Eventually(t, "the noop message line", func() bool { return len(logs.Records("message")) == 2 })
	_ = c.Close(websocket.StatusNormalClosure, "")
	fn.WaitEvent(t, "$disconnect", id)
	if _, _, err := tryDial(n.WS("/dev?deny=1")); err == nil {
		t.Fatal("denied connect succeeded")
	}
	harness.Eventually(t, "the disconnect line", func() bool { return len(logs.Records("disconnect")) == 1 })
	harness.Eventually(t, "the refused connect line", func() bool { return len(logs.Records("connect")) == 2 })

	conns, msgs, discs := logs.Records("connect"), logs.Records("message"), logs.Records("disconnect")
	if len(msgs) != 2 {
		t.Fatalf("message lines = %d, want 2: %v", len(msgs), msgs)
	}
	checkAccessLine(t, conns[0], "$connect", 101, true)
	if conns[0]["connectionId"] != id {
		t.Errorf("connect line connectionId = %v, want %s", conns[0]["connectionId"], id)
	}
	checkAccessLine(t, conns[1], "$connect", 403, true)
	checkAccessLine(t, msgs[0], "$default", 200, true)
	checkAccessLine(t, msgs[1], "noop", 200, false)
	checkAccessLine(t, discs[0], "$disconnect", 200, true)
	if discs[0]["disconnectStatusCode"] != float64(1000) {
		t.Errorf("disconnect line disconnectStatusCode = %v, want 1000", discs[0]["disconnectStatusCode"])
	}
	if msgs[0]["requestId"] == msgs[1]["requestId"] || msgs[0]["requestId"] == conns[0]["requestId"] {
		t.Errorf("requestIds repeat across requests: %v %v %v", conns[0]["requestId"], msgs[0]["requestId"], msgs[1]["requestId"])
	}
}

// With no $disconnect integration the disconnect line still carries a status and latency.
func TestAccessLogDisconnectWithoutIntegration(t *testing.T) {
	n, logs := servertest.StartLogged(t, `
routes:
  $default: { integration: m, routeResponse: true }
integrations:
  m: { type: MOCK, requestTemplates: { $default: '{"statusCode": 200}' }, responses: { $default: { templates: { $default: 'hi' } } } }
`)
	c := dial(t, n.WS("/dev"))
	_ = c.Close(4000, "bye")
	harness.Eventually(t, "the disconnect line", func() bool { return len(logs.Records("disconnect")) == 1 })
	checkAccessLine(t, logs.Records("disconnect")[0], "$disconnect", 200, false)
	checkAccessLine(t, logs.Records("connect")[0], "$connect", 101, false)
}
