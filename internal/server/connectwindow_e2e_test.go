package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/server/servertest"
)

// A client that has seen its 101 receives every push made after that: the gateway registers a
// connection before answering 101 and holds pushes that arrive in between. Without that, a push
// in the instant between the 101 and the registration is lost (a broadcast) or answered 410.
func TestPushRightAfterOpenIsDelivered(t *testing.T) {
	n := servertest.StartConfig(t, withFreePort(config.Default()), nil)
	ctx := context.Background()
	for i := range 300 {
		c, _, err := tryDial(n.WS("/dev"))
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		want := fmt.Sprintf("b%d", i)
		if _, err := n.Server.Hub().Broadcast(ctx, []byte(want)); err != nil {
			t.Fatalf("broadcast %d: %v", i, err)
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, got, err := c.Read(rctx)
		cancel()
		if err != nil || string(got) != want {
			t.Fatalf("connection %d: got %q, %v; want the broadcast %q made right after its 101", i, got, err, want)
		}
		_ = c.Close(websocket.StatusNormalClosure, "")
	}
}
