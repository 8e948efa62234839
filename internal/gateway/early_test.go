package gateway

import (
	"io"
	"testing"
	"time"

	"github.com/wsgate/wsgate/third_party/nbio/nbhttp/websocket"
)

// A socket nbio reports on but that never attaches (its upgrade failed after nbio took it, e.g.
// the 101 could not be written) does not stay in the early map for ever.
func TestEarlyEventsOfNeverAttachedSocketArePruned(t *testing.T) {
	g := newTestGateway(t, Limits{IdleTimeout: time.Hour})
	ws := &websocket.Conn{}
	g.onClose(ws, io.EOF)
	g.earlyMu.Lock()
	held := len(g.early)
	g.earlyMu.Unlock()
	if held != 1 {
		t.Fatalf("early map holds %d entries after a close before attach, want 1", held)
	}
	g.sweepOnce(time.Now().Add(earlyMaxAge + time.Second))
	g.earlyMu.Lock()
	held = len(g.early)
	g.earlyMu.Unlock()
	if held != 0 {
		t.Fatalf("early map still holds %d entries of a socket that never attached", held)
	}
}
