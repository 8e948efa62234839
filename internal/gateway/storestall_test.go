package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/integration"
	"github.com/wsgate/wsgate/internal/registry"
)

// stuckStore is the memory store with an Unregister that waits until released: Redis during an
// outage, as nbio's close callback would see it.
type stuckStore struct {
	registry.Store
	release chan struct{}
}

func (s *stuckStore) Unregister(ctx context.Context, id string) (registry.Conn, bool, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return s.Store.Unregister(ctx, id)
}

// recorder is an integration that reports each event it is called with.
type recorder chan *event.Event

func (r recorder) Invoke(_ context.Context, ev *event.Event) (*integration.Response, error) {
	r <- ev
	return &integration.Response{StatusCode: 200}, nil
}

// A closed connection gets its $disconnect without waiting for the store: the store call runs
// off nbio's close callback, so an unreachable Redis cannot hold up disconnects (or, through
// nbio's shared handler goroutines, everyone else).
func TestDisconnectDoesNotWaitForTheStore(t *testing.T) {
	store := &stuckStore{Store: registry.NewMemory(), release: make(chan struct{})}
	b := bus.NewLocal()
	defer b.Close()
	h := hub.New[*Conn](hub.Options{Node: "n1", Store: store, Bus: b, StoreTimeout: time.Minute})
	rec := make(recorder, 1)
	g, err := New(Options{Stage: "dev", Hub: h, Limits: Limits{IdleTimeout: time.Hour},
		Routes: map[string]*Route{event.RouteDisconnect: {Key: event.RouteDisconnect, Integration: rec}}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := dialGateway(t, g)
	_ = c.Close(websocket.StatusNormalClosure, "bye")
	select {
	case ev := <-rec:
		if ev.RequestContext.EventType != event.Disconnect {
			t.Fatalf("got a %s event, want DISCONNECT", ev.RequestContext.EventType)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("$disconnect waited for the store's Unregister")
	}
	close(store.release)
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := g.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
}
