// Command nbioecho is the floor for BenchmarkIdleConnMemory: a bare nbio WebSocket echo server
// built the way wsgate holds sockets (standard net/http handshake, then
// UpgradeAndTransferConnToPoller, no per-connection read deadline) and nothing else, so the
// benchmark can show what wsgate adds per connection on top of the library it is built on.
//
// It lives under testdata so `go build ./...` skips it; the benchmark builds it by path, from
// the same go.mod, hence the same nbio version as the gateway.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	logging.SetLevel(logging.LevelNone)
	engine := nbhttp.NewEngine(nbhttp.Config{Name: "nbioecho", ReleaseWebsocketPayload: true})
	if err := engine.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "nbioecho:", err)
		os.Exit(1)
	}
	u := websocket.NewUpgrader()
	u.Engine = engine
	u.KeepaliveTime = 0
	u.CheckOrigin = func(*http.Request) bool { return true }
	u.OnMessage(func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
		_ = c.WriteMessage(mt, data)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nbioecho:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte("ok\n"))
			return
		}
		_, _ = u.UpgradeAndTransferConnToPoller(w, r, nil)
	})}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println(ln.Addr().String()) // the benchmark reads the address from the first line
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	_ = ln.Close()
	engine.Stop()
}
