package bench

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/backend"
	"github.com/wsgate/wsgate/internal/benchfloor"
)

const usage = `wsgate-bench: a load generator for wsgate (loopback only, every run bounded).

Usage:
  wsgate-bench idle      --conns N [--rate R] [--hold 5s]              open N idle connections
  wsgate-bench echo      --conns N --count M [--rate R]                M messages per connection, round trips
  wsgate-bench push      --conns N --count C [--concurrency K]         C POST /@connections/{id}, SigV4-signed
  wsgate-bench broadcast --conns N --count C [--concurrency K]         C POST /@broadcast to all N
  wsgate-bench churn     --count C [--rate R] [--concurrency K]        C connect+disconnect cycles
                         [--warmup W]                                  after W cycles not measured
                         [--target centrifugo] [--jwt]
  wsgate-bench backend     --listen 127.0.0.1:9001                     the bundled HTTP backend
  wsgate-bench bare-server --listen 127.0.0.1:9002 [--push]            a bare nbio echo server (the floor)
                           [--integration http://127.0.0.1:9001/echo]  each message POSTed there, the answer sent back
                           [--integration-client net/http|minimal]     the client that makes those calls
                           [--nbio-parser]                             handshakes on nbio's own parser (no net/http)

Target: --url ws://127.0.0.1:PORT/STAGE, or --config FILE (its listen and stage); --spawn starts
'wsgate serve --config FILE' and stops it at the end; --spawn-bare starts a bare-server on the
URL's port; --gateway-pid PID reads RSS and CPU of a server started otherwise. echo with
--spawn-bare --integration URL measures the floor plus the HTTP hop of an HTTP integration
(kind bare+hop; with --integration-client minimal, bare+hop-min: the least an HTTP/1.1 call
costs): the part of wsgate's HTTP_PROXY echo that no gateway can avoid.

Centrifugo (v6, JSON protocol): --target centrifugo with --url ws://127.0.0.1:PORT/connection/websocket
--api-key KEY --hmac-secret SECRET, or --config centrifugo.json (read for all three; with --spawn
run as 'centrifugo -c FILE', binary from --centrifugo or $PATH). idle, churn, push and broadcast;
push with --batch N uses /api/batch, broadcast with --broadcast-api uses /api/broadcast.
--jwt gives every connection its own HS256 token (Centrifugo: in the connect command; wsgate:
'Authorization: Bearer', for a JWT authorizer). Every result line carries the load averages.

Flags:
`

// Main runs the command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		fs := newFlags(&Options{}, stderr)
		fs.PrintDefaults()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var err error
	switch args[0] {
	case "backend", "bare-server":
		err = serveCmd(args[0], args[1:], stdout, stderr)
	default:
		o := Options{Scenario: args[0], Stdout: stdout, Stderr: stderr}
		fs := newFlags(&o, stderr)
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "wsgate-bench: unexpected argument %q\n", fs.Arg(0))
			return 2
		}
		err = Run(o)
	}
	if err != nil {
		fmt.Fprintln(stderr, "wsgate-bench:", err)
		return 1
	}
	return 0
}

type headerFlag struct{ h *http.Header }

func (f headerFlag) String() string { return "" }
func (f headerFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q: write Name: value", v)
	}
	if *f.h == nil {
		*f.h = http.Header{}
	}
	f.h.Add(strings.TrimSpace(k), strings.TrimSpace(val))
	return nil
}

func newFlags(o *Options, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wsgate-bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.URL, "url", "", "target ws://127.0.0.1:PORT/STAGE[/path][?query] (loopback only)")
	fs.StringVar(&o.Config, "config", "", "wsgate config: the URL and management credentials are read from it; --spawn runs it")
	fs.BoolVar(&o.Spawn, "spawn", false, "start 'wsgate serve --config FILE' and stop it by its PID at the end")
	fs.BoolVar(&o.SpawnBare, "spawn-bare", false, "start 'wsgate-bench bare-server' on the URL's address and stop it at the end")
	fs.StringVar(&o.Wsgate, "wsgate", "", "wsgate binary for --spawn (default: next to wsgate-bench, then $PATH)")
	fs.IntVar(&o.GatewayPID, "gateway-pid", 0, "read RSS and CPU seconds of this process from /proc")
	fs.StringVar(&o.Integration, "integration", "", "echo with --spawn-bare: the floor POSTs each message to this http:// URL (e.g. http://127.0.0.1:19001/echo) and sends back the answer")
	fs.StringVar(&o.IntegrationClient, "integration-client", "", "with --integration: net/http (default) or minimal, the floor's client for those calls")
	fs.StringVar(&o.Backend, "backend", "", "also serve the bundled backend in this process on this address (e.g. 127.0.0.1:9001)")
	fs.IntVar(&o.Conns, "conns", 0, "connections to open")
	fs.IntVar(&o.Count, "count", 0, "messages per connection (echo), requests in all (push, broadcast), cycles (churn)")
	fs.IntVar(&o.Warmup, "warmup", 0, "churn: cycles run first and not measured, so the figures are a warm server's (its heap, stacks and pools grown)")
	fs.Float64Var(&o.Rate, "rate", 0, "connects/s (idle, churn) or messages/s in all (echo, push, broadcast); 0 = as fast as answered")
	fs.Float64Var(&o.ConnectRate, "connect-rate", 0, "connects/s while opening the connections of echo, push and broadcast (0 = as fast as possible)")
	fs.DurationVar(&o.Duration, "duration", DefaultDuration, "hard bound of the whole run (at most 10m)")
	fs.DurationVar(&o.Hold, "hold", DefaultHold, "idle: how long the connections stay open before the gateway's RSS is read")
	fs.IntVar(&o.Concurrency, "concurrency", DefaultConcurrency, "dialing workers (idle, echo, churn) or keep-alive HTTP clients (push, broadcast)")
	fs.IntVar(&o.Pipeline, "pipeline", 1, "requests in flight per HTTP client (push, broadcast)")
	fs.IntVar(&o.Payload, "payload", 0, "bytes of filler added to each message")
	fs.Var(headerFlag{&o.Header}, "header", "handshake header 'Name: value' (repeatable), e.g. an authorizer's identity source")
	fs.StringVar(&o.AccessKey, "access-key", "", "management access key id (default: the config's first credential)")
	fs.StringVar(&o.SecretKey, "secret-key", "", "management secret access key")
	fs.StringVar(&o.Region, "region", "", "SigV4 region (default: the config's, else us-east-1)")
	fs.StringVar(&o.Target, "target", "", "what is measured: wsgate (default), bare (the floor; implied by --spawn-bare) or centrifugo")
	fs.BoolVar(&o.JWT, "jwt", false, "every connection presents its own HS256 token signed with --hmac-secret")
	fs.StringVar(&o.HMACSecret, "hmac-secret", "", "HMAC secret for connect tokens (default: the Centrifugo config's, or the wsgate config's JWT authorizer's)")
	fs.StringVar(&o.APIKey, "api-key", "", "Centrifugo server API key (default: the config's http_api.key)")
	fs.StringVar(&o.Centrifugo, "centrifugo", "", "Centrifugo binary for --spawn --target centrifugo (default: $PATH)")
	fs.IntVar(&o.Batch, "batch", 0, "push: messages per request (0 or 1: one per request); wsgate: entries per POST @batch, Centrifugo: publications per /api/batch")
	fs.BoolVar(&o.BroadcastAPI, "broadcast-api", false, "broadcast, Centrifugo: /api/broadcast over every connection's own channel instead of one publication to a shared channel")
	fs.StringVar(&o.MgmtURL, "mgmt-url", "", "push, broadcast: send the requests to this node's http://HOST:PORT/STAGE (a push crossing nodes)")
	fs.Func("start-at", "push, broadcast: start posting at this Unix time in seconds (generators in step)", func(v string) error {
		sec, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("%q: give Unix seconds, e.g. $(($(date +%%s)+20))", v)
		}
		o.StartAt = time.Unix(0, int64(sec*1e9))
		return nil
	})
	fs.BoolVar(&o.JSON, "json", false, "print the result line as JSON")
	return fs
}

// serveCmd runs the backend or the bare server until SIGINT/SIGTERM or --duration. The bare
// server prints the address it listens on as the first line of stdout (--listen 127.0.0.1:0
// picks a free port: the Go benchmarks in internal/server read it from there).
func serveCmd(name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9001", "loopback address to serve on (port 0: any free port)")
	d := fs.Duration("duration", time.Hour, "stop by itself after this long")
	push := fs.Bool("push", false, "bare-server: also answer whoami, POST /{stage}/@connections/{id} and /@broadcast (the push floor)")
	integClient := fs.String("integration-client", benchfloor.ClientNetHTTP, "bare-server --integration: net/http (a plain pooled client) or minimal (one write per request, Content-Length answers only)")
	integ := fs.String("integration", "", "bare-server: POST each message to this http:// loopback URL with a pooled net/http client and send back the answer (the floor plus an integration's HTTP hop)")
	nbioParser := fs.Bool("nbio-parser", false, "bare-server: handshakes on nbio's own HTTP parser instead of net/http plus the transfer to nbio (needs a port, not 0)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var stop func()
	addr := *listen
	if name == "backend" {
		s, err := backend.Start(*listen)
		if err != nil {
			return err
		}
		stop = s
	} else {
		b, err := benchfloor.StartWith(*listen, benchfloor.Options{Push: *push, Integration: *integ, IntegrationClient: *integClient, NBIOParser: *nbioParser})
		if err != nil {
			return err
		}
		stop, addr = b.Stop, b.Addr()
		fmt.Fprintln(stdout, addr)
	}
	fmt.Fprintf(stderr, "wsgate-bench %s: listening on %s (pid %d)\n", name, addr, os.Getpid())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case <-time.After(*d):
	}
	stop()
	return nil
}
