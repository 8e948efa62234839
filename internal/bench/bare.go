package bench

import (
	"fmt"
	"net"
	"net/http"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

// BareServer is the floor the gateway is measured against: nbio's own HTTP engine upgrading
// every request to a WebSocket that echoes each message, with nothing else (no routing, no
// registry, no integration). It is what the gateway would cost if it did nothing.
type BareServer struct {
	engine *nbhttp.Engine
}

// StartBare listens on addr (loopback only).
func StartBare(addr string) (*BareServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("bare-server --listen %q: %w", addr, err)
	}
	if err := CheckLoopback(host); err != nil {
		return nil, fmt.Errorf("bare-server --listen %q: %w", addr, err)
	}
	logging.SetLevel(logging.LevelNone)
	u := websocket.NewUpgrader()
	u.KeepaliveTime = 0
	u.CheckOrigin = func(*http.Request) bool { return true }
	u.OnMessage(func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
		_ = c.WriteMessage(mt, data)
	})
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network:                 "tcp",
		Addrs:                   []string{addr},
		ReleaseWebsocketPayload: true,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := u.Upgrade(w, r, nil); err != nil {
				return
			}
		}),
	})
	if err := engine.Start(); err != nil {
		return nil, fmt.Errorf("bare-server: %w", err)
	}
	return &BareServer{engine: engine}, nil
}

// Stop closes every connection and the listener.
func (b *BareServer) Stop() { b.engine.Stop() }
