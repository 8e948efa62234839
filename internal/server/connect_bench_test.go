package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// BenchmarkConnectCachedAuthorizer measures the handshake rate through the real gateway when
// the $connect authorizer's answer comes from its cache: a Lambda REQUEST authorizer (Lambda
// Invoke API on loopback) with resultTtl, every op one full WebSocket connect and close by a
// real client to 127.0.0.1. The authorizer is called once for the whole run. At most
// 4*GOMAXPROCS connections are open at a time, so the run is bounded by -benchtime alone.
func BenchmarkConnectCachedAuthorizer(b *testing.B) {
	authz := newAuthLambda(b, func(in events.APIGatewayCustomAuthorizerRequestTypeRequest) (any, string) {
		return policy("user-1", "Allow", in.MethodArn, map[string]any{"tier": "gold"}), ""
	})
	cfg, err := config.Parse("bench.yaml", []byte(fmt.Sprintf(`
listen: 127.0.0.1:0
routes:
  $connect: { authorizer: fnauth }
authorizers:
  fnauth: { type: REQUEST, uri: bench-authorizer, endpoint: "%s", identitySource: route.request.header.X-Token, resultTtl: 10m }
`, authz.URL())))
	if err != nil {
		b.Fatal(err)
	}
	n := servertest.StartConfig(b, cfg, slog.New(slog.DiscardHandler))
	url := n.WS("/dev")
	opts := &websocket.DialOptions{HTTPHeader: http.Header{"X-Token": {"bench-token"}}}
	// Every connect ends in a full close handshake: a close frame lost from the gateway (a FIN
	// without it) fails the benchmark, as it would fail a client.
	connectClose := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, url, opts)
		if err != nil {
			return err
		}
		if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
			return fmt.Errorf("close handshake: %w", err)
		}
		return nil
	}
	if err := connectClose(); err != nil { // fills the cache
		b.Fatal(err)
	}

	b.ReportAllocs()
	b.SetParallelism(4)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := connectClose(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "connects/s")
	if calls := authz.Calls(); calls != 1 {
		b.Fatalf("authorizer called %d times, want 1 (every connect after the first is a cache hit)", calls)
	}
	// Let the last $disconnects finish before Shutdown.
	harness.Eventually(b, "every connection's $disconnect", func() bool { return n.Server.Hub().Len() == 0 })
}
