package server_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// Each management request is logged once, at debug, by management's handler, with API Gateway's
// $context names (requestId, status, sourceIp, responseLatency); the server's Observe hook only
// counts it.
func TestManagementRequestLoggedOnce(t *testing.T) {
	logs := &harness.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n := servertest.StartConfig(t, servertest.ParseConfig(t, `
routes:
  $default: { integration: echo, routeResponse: true }
integrations:
  echo: { type: MOCK, requestTemplates: { $default: '{"statusCode": 200}' }, responses: { $default: { templates: { $default: '$context.connectionId' } } } }
`), log)
	c := dial(t, n.WS("/dev"))
	send(t, c, "who am i")
	id := read(t, c)

	var reqIDs []string
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		req, err := http.NewRequest(method, n.HTTP("/dev/@connections/"+id), strings.NewReader("hi"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s @connections: %d", method, resp.StatusCode)
		}
		reqIDs = append(reqIDs, resp.Header.Get("x-amzn-RequestId"))
	}
	if got := read(t, c); got != "hi" {
		t.Fatalf("frame %q, want hi", got)
	}

	var recs []map[string]any
	harness.Eventually(t, "two management request lines", func() bool {
		recs = logs.Records("management request")
		return len(recs) >= 2
	})
	ops := []string{"PostToConnection", "GetConnection"}
	for i, rec := range recs {
		if i >= len(ops) {
			t.Fatalf("%d management request lines for 2 requests: %v", len(recs), recs)
		}
		if rec["level"] != "DEBUG" || rec["operation"] != ops[i] || rec["requestId"] != reqIDs[i] ||
			rec["status"] != float64(200) || rec["sourceIp"] != "127.0.0.1" || rec["responseLatency"] == nil {
			t.Errorf("line %d: %v, want DEBUG %s with requestId %s, status, sourceIp and responseLatency", i, rec, ops[i], reqIDs[i])
		}
	}
	// Neither the request id nor the operation's name on any other line.
	for _, s := range append(reqIDs, `"PostToConnection"`, `"GetConnection"`) {
		if k := strings.Count(logs.String(), s); k != 1 {
			t.Errorf("%s appears %d times in the log, want once:\n%s", s, k, logs)
		}
	}
}
