package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// The CloudWatch-named metrics count what API Gateway counts: a backend answering 500 is an
// IntegrationError (not an "ok" message), a failed call an ExecutionError, a message with no
// route a ClientError; MessageCount counts both directions, pushes included; only pushes count
// as pushes.
func TestCloudWatchMetrics(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		switch {
		case strings.Contains(ev.Body, "fail500"):
			return 500, "backend broke"
		case strings.Contains(ev.Body, "crash"):
			return -1, "" // a function error
		}
		return 200, "ok"
	})
	n := servertest.Start(t, fmt.Sprintf(`stage: prod
management:
  credentials: [ { accessKeyId: %s, secretAccessKey: "%s" } ]
routes:
  $connect: { integration: fn }
  $disconnect: { integration: fn }
  fail500: { integration: fn, routeResponse: true }
  crash: { integration: fn }
integrations:
  fn: { type: AWS_PROXY, uri: app, endpoint: "%s" }
`, mgmtKeyID, mgmtSecretKey, fn.URL()))
	c := dial(t, n.WS("/prod"))
	id := fn.NthConnectionID(t, 1)
	send(t, c, `{"action":"fail500"}`)
	if got := read(t, c); got != "backend broke" {
		t.Fatalf("route response %q", got)
	}
	send(t, c, `{"action":"crash"}`)
	read(t, c) // the Internal server error frame
	mc := mgmtClient(n, mgmtKeyID, mgmtSecretKey)
	if _, err := mc.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(id), Data: []byte("pushed"),
	}); err != nil {
		t.Fatal(err)
	}
	read(t, c)
	if _, err := mc.GetConnection(context.Background(), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	_ = c.Close(websocket.StatusNormalClosure, "")
	fn.WaitEvent(t, "$disconnect", id)

	for _, m := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"wsgate_ConnectCount_total", []string{`stage="prod"`}, 1},
		{"wsgate_IntegrationError_total", []string{`route="fail500"`, `stage="prod"`}, 1},
		{"wsgate_ExecutionError_total", []string{`route="crash"`}, 1},
		{"wsgate_MessageCount_total", []string{`direction="in"`}, 2},
		{"wsgate_MessageCount_total", []string{`direction="out"`}, 3}, // route response, error frame, push
		{"wsgate_IntegrationLatency_milliseconds_count", []string{`route="$connect"`}, 1},
		{"wsgate_IntegrationLatency_milliseconds_count", []string{`route="$disconnect"`}, 1},
		{"wsgate_messages_total", []string{`route="fail500"`, `outcome="ok"`}, 0},
		{"wsgate_messages_total", []string{`route="fail500"`, `outcome="integration_error"`}, 1},
		{"wsgate_pushes_total", nil, 1},
		{"wsgate_management_requests_total", nil, 2},
	} {
		var got float64
		harness.Eventually(t, m.name, func() bool { got = scrapeMetric(t, n, m.name, m.labels...); return got == m.want })
		if got != m.want {
			t.Errorf("%s%v = %v, want %v", m.name, m.labels, got, m.want)
		}
	}
}
