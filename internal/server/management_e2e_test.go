package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

const (
	mgmtKeyID     = "AKIDWSGATETEST"
	mgmtSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

const signedLambdaAPI = `
management:
  credentials: [ { accessKeyId: ` + mgmtKeyID + `, secretAccessKey: "` + mgmtSecretKey + `" } ]
routes:
  $connect: { integration: fn }
  $disconnect: { integration: fn }
  $default: { integration: fn, routeResponse: true }
integrations:
  fn: { type: AWS_PROXY, uri: app, endpoint: "%s" }
`

func sdkContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The unmodified AWS SDK client drives all three @connections operations against a node with
// SigV4 credentials, and decodes every error into its typed exception.
func TestManagementAPIWithSDK(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) { return 200, "ack" })
	n := servertest.Start(t, fmt.Sprintf(signedLambdaAPI, fn.URL()))
	mc := mgmtClient(n, mgmtKeyID, mgmtSecretKey)
	ctx := sdkContext(t)

	before := time.Now()
	c := dial(t, n.WS("/dev"), func(o *websocket.DialOptions) {
		o.HTTPHeader = http.Header{"User-Agent": {"mgmt-e2e/1.0"}}
	})
	after := time.Now()
	id := fn.NthConnectionID(t, 1)
	if !strings.HasSuffix(id, "=") {
		t.Fatalf("connection id %q: want AWS's format ending in '=' so the SDK's path escaping is exercised", id)
	}

	// PostToConnection: the body arrives as one frame, unchanged.
	payload := `{"callType":"response_vm","data":"{\"n\":1}"}`
	if _, err := mc.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(id), Data: []byte(payload),
	}); err != nil {
		t.Fatalf("PostToConnection: %v", err)
	}
	if got := read(t, c); got != payload {
		t.Fatalf("pushed frame = %q, want %q", got, payload)
	}

	// GetConnection: connectedAt, identity and lastActiveAt as the SDK decodes them.
	g1, err := mc.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetConnection: %v", err)
	}
	if g1.ConnectedAt == nil || g1.ConnectedAt.Before(before.Truncate(time.Millisecond)) || g1.ConnectedAt.After(after) {
		t.Errorf("connectedAt = %v, want between %v and %v", g1.ConnectedAt, before, after)
	}
	if g1.Identity == nil || aws.ToString(g1.Identity.SourceIp) != "127.0.0.1" ||
		aws.ToString(g1.Identity.UserAgent) != "mgmt-e2e/1.0" {
		t.Errorf("identity = %+v, want 127.0.0.1 / mgmt-e2e/1.0", g1.Identity)
	}
	if g1.LastActiveAt == nil || g1.LastActiveAt.Before(*g1.ConnectedAt) {
		t.Fatalf("lastActiveAt = %v, want at or after connectedAt %v", g1.LastActiveAt, g1.ConnectedAt)
	}
	// Traffic moves lastActiveAt (a push does not: it is the client's activity).
	harness.Eventually(t, "the clock to pass lastActiveAt", func() bool { return time.Since(*g1.LastActiveAt) > 2*time.Millisecond })
	send(t, c, `{"action":"anything"}`)
	if got := read(t, c); got != "ack" {
		t.Fatalf("route response = %q", got)
	}
	g2, err := mc.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetConnection: %v", err)
	}
	if !g2.LastActiveAt.After(*g1.LastActiveAt) || !g2.ConnectedAt.Equal(*g1.ConnectedAt) {
		t.Errorf("after a message: lastActiveAt %v -> %v (want later), connectedAt %v -> %v (want same)",
			g1.LastActiveAt, g2.LastActiveAt, g1.ConnectedAt, g2.ConnectedAt)
	}

	// 129 KB is over the 128 KB limit.
	_, err = mc.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(id), Data: make([]byte, 129<<10),
	})
	var tooLarge *types.PayloadTooLargeException
	if !errors.As(err, &tooLarge) {
		t.Errorf("129 KB PostToConnection: %v, want *types.PayloadTooLargeException", err)
	}

	// A wrong secret is refused with AWS's InvalidSignatureException and delivers nothing.
	bad := mgmtClient(n, mgmtKeyID, "not-the-secret")
	_, err = bad.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(id), Data: []byte("must not arrive"),
	})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidSignatureException" {
		t.Errorf("wrong secret: %v, want APIError InvalidSignatureException", err)
	}
	if _, err := bad.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)}); !errors.As(err, &api) || api.ErrorCode() != "InvalidSignatureException" {
		t.Errorf("wrong secret GetConnection: %v, want APIError InvalidSignatureException", err)
	}

	// DeleteConnection: the client sees 1000, $disconnect reports it.
	if _, err := mc.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	code, reason := readClose(t, c)
	if code != websocket.StatusNormalClosure {
		t.Errorf("client close after DeleteConnection = %d %q, want 1000", code, reason)
	}
	disc := fn.WaitEvent(t, "$disconnect", id)
	if disc.RequestContext.DisconnectStatusCode != 1000 || reasonOf(disc) != "Connection deleted" {
		t.Errorf("$disconnect = %d %q, want 1000 \"Connection deleted\"", disc.RequestContext.DisconnectStatusCode, reasonOf(disc))
	}
	if n := fn.Count("$default"); n != 1 {
		t.Errorf("$default calls = %d, want 1 (the forbidden push must not have been routed or delivered)", n)
	}

	// Gone after close and for an id that never existed, for all three operations.
	var gone *types.GoneException
	for _, target := range []string{id, "AAAAAAAAAAAAAAA="} {
		_, err := mc.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(target), Data: []byte("x")})
		if !errors.As(err, &gone) {
			t.Errorf("PostToConnection %s: %v, want *types.GoneException", target, err)
		}
		if _, err := mc.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(target)}); !errors.As(err, &gone) {
			t.Errorf("GetConnection %s: %v, want *types.GoneException", target, err)
		}
		if _, err := mc.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(target)}); !errors.As(err, &gone) {
			t.Errorf("DeleteConnection %s: %v, want *types.GoneException", target, err)
		}
	}
}

// With no credentials configured, loopback callers are served without a signature.
func TestManagementLoopbackUnsigned(t *testing.T) {
	n := servertest.Start(t, `
routes:
  $default: { integration: echo, routeResponse: true }
integrations:
  echo: { type: MOCK, requestTemplates: { $default: '{"statusCode": 200}' }, responses: { $default: { templates: { $default: '$context.connectionId' } } } }
`)
	c := dial(t, n.WS("/dev"))
	send(t, c, "who am i")
	id := read(t, c)
	mc := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String("http://" + n.Addr + "/dev"), Region: "us-east-1",
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1,
	})
	ctx := sdkContext(t)
	if _, err := mc.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("via sdk")}); err != nil {
		t.Fatalf("unsigned SDK PostToConnection from loopback: %v", err)
	}
	if got := read(t, c); got != "via sdk" {
		t.Fatalf("frame = %q", got)
	}
	// A plain curl-style POST with no Authorization header at all.
	resp, err := http.Post("http://"+n.Addr+"/dev/@connections/"+id, "text/plain", strings.NewReader("via curl"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("unsigned POST = %d, want 200", resp.StatusCode)
	}
	if got := read(t, c); got != "via curl" {
		t.Fatalf("frame = %q", got)
	}
	if _, err := mc.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Fatalf("unsigned GetConnection: %v", err)
	}
}

// A backend that posts to the connection from inside its $connect handler gets 410, as on AWS:
// the connection is not there until $connect has answered.
func TestPostDuringConnectIsGone(t *testing.T) {
	var (
		mu      sync.Mutex
		results []error
		getErr  error
		nodeP   *servertest.Node
		started = make(chan struct{})
	)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/connect" {
			return
		}
		<-started
		mc := mgmtClient(nodeP, mgmtKeyID, mgmtSecretKey)
		id := r.Header.Get("connectionId")
		_, err := mc.PostToConnection(r.Context(), &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String(id), Data: []byte("too early"),
		})
		_, gerr := mc.GetConnection(r.Context(), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
		mu.Lock()
		results = append(results, err)
		getErr = gerr
		mu.Unlock()
	}))
	defer backend.Close()
	nodeP = servertest.Start(t, fmt.Sprintf(`
management:
  credentials: [ { accessKeyId: %s, secretAccessKey: "%s" } ]
routes:
  $connect: { integration: connect }
integrations:
  connect:
    type: HTTP_PROXY
    uri: %s/connect
    requestParameters: { integration.request.header.connectionId: context.connectionId }
`, mgmtKeyID, mgmtSecretKey, backend.URL))
	close(started)
	c := dial(t, nodeP.WS("/dev"))
	mu.Lock()
	defer mu.Unlock()
	if len(results) != 1 {
		t.Fatalf("$connect backend ran %d times, want 1", len(results))
	}
	var gone *types.GoneException
	if !errors.As(results[0], &gone) {
		t.Errorf("PostToConnection during $connect: %v, want *types.GoneException (410)", results[0])
	}
	if !errors.As(getErr, &gone) {
		t.Errorf("GetConnection during $connect: %v, want *types.GoneException (410)", getErr)
	}
	// Nothing posted during $connect may reach the client later.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, data, err := c.Read(ctx); err == nil {
		t.Errorf("client received %q posted during $connect", data)
	}
}
