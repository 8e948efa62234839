// Package benchfloor is the floor wsgate is measured against: a bare nbio WebSocket echo server
// built the way the gateway holds sockets (a standard net/http handshake, then
// UpgradeAndTransferConnToPoller onto nbio's event loop, no per-connection read deadline) and
// nothing else: no routing, no registry, no integration. It is what the gateway would cost if
// it did nothing.
//
// With Options.Push the floor also takes the pushes the gateway's management API takes, with
// nothing around them (no SigV4, no registry beyond one map, no error shapes): a text message
// {"action":"whoami"} is answered with {"connectionId":"ID"}, POST /{stage}/@connections/{ID}
// writes the body to that socket (410 if it is gone), POST /{stage}/@broadcast writes it to every
// socket, fanned out over GOMAXPROCS goroutines as the gateway's hub does. Without Push it holds
// no per-connection state at all, which is the floor for memory.
//
// With Options.Integration the floor also makes the HTTP hop an HTTP integration makes: each
// message is POSTed to a backend with a plain pooled net/http client and the backend's answer is
// written back instead of the message. That is the floor for wsgate's HTTP_PROXY echo
// (bench/configs/echo.yaml): what any gateway that calls a backend per message cannot avoid,
// so that wsgate's own part of the round trip is what it adds over this, not over an echo with
// no hop at all.
//
// It is the one floor of the project: `wsgate-bench bare-server` (and `--spawn-bare`) serves it
// for the load generator, and the Go benchmarks in internal/server run that same command as a
// child process. It lives under internal/ at the module root, not under cmd/wsgate-bench, so
// that any package of the module (a benchmark, an experiment on the floor) can import it.
package benchfloor

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/third_party/nbio/logging"
	"github.com/wsgate/wsgate/third_party/nbio/nbhttp"
	"github.com/wsgate/wsgate/third_party/nbio/nbhttp/websocket"
)

// Server is a running floor server.
type Server struct {
	engine *nbhttp.Engine
	srv    *http.Server
	ln     net.Listener // nil with NBIOParser
	addr   string
	push   *pushes
	hop    *hop
}

// Options change what the floor does.
type Options struct {
	// Push: answer whoami, POST /{stage}/@connections/{id} and POST /{stage}/@broadcast.
	Push bool
	// Integration is an http:// URL on a loopback address (e.g. http://127.0.0.1:19001/echo,
	// the bundled backend): each message (but whoami) is POSTed to it and the answer's body is
	// written back in its place, in a frame of the message's type; a failed call (transport
	// error, timeout of IntegrationTimeout) is answered with {"message": "Internal server
	// error"}, as the gateway answers one. Empty: messages are echoed.
	Integration string
	// IntegrationClient is the client Integration's calls go through: ClientNetHTTP (the
	// default) or ClientMinimal (see hop).
	IntegrationClient string
	// NBIOParser serves the handshake on nbio's own HTTP parser (nbio accepts, parses and
	// upgrades on its event loop: no net/http goroutine, no bufio, no descriptor duplicate)
	// instead of net/http plus UpgradeAndTransferConnToPoller: what that design would give a
	// connect, measured on the floor alone. addr needs a port of its own (not 0).
	NBIOParser bool
}

// IntegrationTimeout bounds one call of Options.Integration, as bench/configs/echo.yaml's
// timeout: 5s bounds the gateway's.
const IntegrationTimeout = 5 * time.Second

// Start listens on addr, which must be a loopback address ("127.0.0.1:0" picks a port), and
// upgrades every request but GET /healthz (200 "ok") to a WebSocket that echoes each message.
func Start(addr string) (*Server, error) { return StartWith(addr, Options{}) }

// StartWith is Start with options.
func StartWith(addr string, o Options) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("bare-server --listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("bare-server --listen %q: not a loopback address (the floor serves 127.0.0.0/8 or ::1 only)", addr)
	}
	var h *hop
	if o.Integration != "" {
		if h, err = newHop(o.Integration, o.IntegrationClient); err != nil {
			return nil, err
		}
	}
	logging.SetLevel(logging.LevelNone)
	cfg := nbhttp.Config{Name: "benchfloor", ReleaseWebsocketPayload: true}
	var mux *http.ServeMux
	if o.NBIOParser {
		if _, port, _ := net.SplitHostPort(addr); port == "0" {
			return nil, fmt.Errorf("bare-server --nbio-parser --listen %q: give a port (nbio listens itself)", addr)
		}
		mux = http.NewServeMux()
		cfg.Network, cfg.Addrs, cfg.Handler = "tcp", []string{addr}, mux
	}
	engine := nbhttp.NewEngine(cfg)
	if err := engine.Start(); err != nil {
		return nil, fmt.Errorf("bare-server: %w", err)
	}
	s := &Server{engine: engine, hop: h}
	echo := func(c *websocket.Conn, mt websocket.MessageType, data []byte) { _ = c.WriteMessage(mt, data) }
	if h != nil {
		echo = h.echo
	}
	u := websocket.NewUpgrader()
	u.Engine = engine
	u.KeepaliveTime = 0
	u.CheckOrigin = func(*http.Request) bool { return true }
	if o.Push {
		s.push = &pushes{}
		u.OnOpen(func(c *websocket.Conn) { s.push.id(c) })
		u.OnClose(s.push.forget)
		u.OnMessage(func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
			if bytes.Equal(data, whoami) {
				_ = c.WriteMessage(websocket.TextMessage, []byte(`{"connectionId":"`+s.push.id(c)+`"}`))
				return
			}
			echo(c, mt, data)
		})
	} else {
		u.OnMessage(echo)
	}
	serve := func(upgrade func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/healthz":
				_, _ = w.Write([]byte("ok\n"))
			case s.push != nil && r.Method == http.MethodPost:
				s.push.serveHTTP(w, r)
			default:
				upgrade(w, r)
			}
		}
	}
	if o.NBIOParser {
		s.addr = addr
		mux.Handle("/", serve(func(w http.ResponseWriter, r *http.Request) { _, _ = u.Upgrade(w, r, nil) }))
		return s, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		engine.Stop()
		return nil, fmt.Errorf("bare-server: %w", err)
	}
	s.ln, s.addr = ln, ln.Addr().String()
	s.srv = &http.Server{
		Handler:           serve(func(w http.ResponseWriter, r *http.Request) { _, _ = u.UpgradeAndTransferConnToPoller(w, r, nil) }),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

var whoami = []byte(`{"action":"whoami"}`)

// pushes is the push floor's one map of sockets by id.
type pushes struct {
	next   atomic.Uint64
	byID   sync.Map // id -> *websocket.Conn
	byConn sync.Map // *websocket.Conn -> id
}

// id is c's id, given on first use.
func (p *pushes) id(c *websocket.Conn) string {
	if v, ok := p.byConn.Load(c); ok {
		return v.(string)
	}
	id := strconv.FormatUint(p.next.Add(1), 10)
	if v, loaded := p.byConn.LoadOrStore(c, id); loaded {
		return v.(string)
	}
	p.byID.Store(id, c)
	return id
}

func (p *pushes) forget(c *websocket.Conn, _ error) {
	if v, ok := p.byConn.LoadAndDelete(c); ok {
		p.byID.Delete(v)
	}
}

// serveHTTP takes POST /{stage}/@connections/{id} and POST /{stage}/@broadcast.
func (p *pushes) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 128<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	path := r.URL.Path
	if i := strings.Index(path, "/@connections/"); i >= 0 {
		v, ok := p.byID.Load(path[i+len("/@connections/"):])
		if !ok || v.(*websocket.Conn).WriteMessage(websocket.TextMessage, body) != nil {
			w.WriteHeader(http.StatusGone)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	if !strings.HasSuffix(path, "/@broadcast") {
		http.NotFound(w, r)
		return
	}
	var conns []*websocket.Conn
	p.byID.Range(func(_, v any) bool {
		conns = append(conns, v.(*websocket.Conn))
		return true
	})
	workers := min(runtime.GOMAXPROCS(0), max(len(conns), 1))
	var wg sync.WaitGroup
	for k := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < len(conns); i += workers {
				_ = conns[i].WriteMessage(websocket.TextMessage, body)
			}
		}()
	}
	wg.Wait()
	w.WriteHeader(http.StatusOK)
}

// Addr is the address the server listens on (host:port).
func (s *Server) Addr() string { return s.addr }

// Stop closes the listener and every connection.
func (s *Server) Stop() {
	if s.srv != nil {
		_ = s.srv.Close()
	}
	s.engine.Stop()
	if s.hop != nil {
		s.hop.close()
	}
}
