package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/backend"
	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/centrifugo"
	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/procstat"
	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/target"
	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/wsclient"
	"github.com/wsgate/wsgate/internal/benchfloor"
	"github.com/wsgate/wsgate/internal/config"
)

// Options describe one bounded run. Zero values take the defaults noted.
type Options struct {
	Scenario string
	Target   string // TargetWsgate (default; TargetBare with SpawnBare) or TargetCentrifugo
	URL      string // ws://127.0.0.1:PORT/STAGE; derived from Config when empty
	Config   string // the wsgate (or Centrifugo JSON) config: --spawn runs it; push/broadcast read credentials from it

	Spawn      bool   // start `wsgate serve --config Config` and stop it at the end
	SpawnBare  bool   // start this binary's bare-server on the URL's port and stop it at the end
	Wsgate     string // wsgate binary for Spawn (default: next to this binary, then $PATH)
	GatewayPID int    // read RSS and CPU of this process
	Backend    string // start the bundled backend in this process on this address
	// Integration (echo on the floor): the bare server POSTs each message to this http:// URL and
	// writes back the answer (bare-server --integration), the floor plus the HTTP hop wsgate's
	// HTTP_PROXY echo makes; the result's kind is KindBareHop. SpawnBare passes it on; with a
	// floor started otherwise it only names the kind.
	Integration       string
	IntegrationClient string // the floor's client for Integration: net/http (default) or minimal (KindBareHopMin)

	Conns       int           // connections to open (idle, echo, push, broadcast)
	Count       int           // messages per connection (echo), requests (push, broadcast), connects (churn)
	Warmup      int           // churn: cycles run before the measured ones, counted nowhere
	Rate        float64       // connects/s (idle, churn) or messages/s (echo, push, broadcast); 0 = as fast as possible
	ConnectRate float64       // connects/s while opening the connections of echo/push/broadcast (0: Rate for idle)
	Duration    time.Duration // hard bound of the whole run (default 60s)
	Hold        time.Duration // idle: how long connections stay open before RSS is read (default 5s)
	Concurrency int           // dialing workers (idle, churn) or HTTP clients (push, broadcast)
	Pipeline    int           // requests in flight per HTTP client (push, broadcast; default 1)
	Payload     int           // bytes of filler in each message (echo, push, broadcast)
	Header      http.Header   // handshake headers (an authorizer's identity source)

	AccessKey, SecretKey, Region string // push/broadcast signing (default: the config's first credential)

	// JWT: every connection presents its own HS256 token (user bench-<i>), signed with
	// HMACSecret (default: the Centrifugo config's client.token.hmac_secret_key, or the wsgate
	// config's JWT authorizer secret). Centrifugo's push and broadcast always use tokens: their
	// "channels" claim subscribes each connection.
	JWT          bool
	HMACSecret   string
	APIKey       string // Centrifugo's server API key (default: the config's http_api.key)
	Centrifugo   string // Centrifugo binary for Spawn with TargetCentrifugo (default: $PATH)
	Batch        int    // push: publications per request (Centrifugo /api/batch); 0 or 1: one per request
	BroadcastAPI bool   // Centrifugo broadcast: /api/broadcast over every connection's own channel instead of one publication to a shared channel
	apiPrefix    string // Centrifugo's http_api.handler_prefix, from its config

	MgmtURL string    // push/broadcast: send the requests to this node (http://HOST:PORT/STAGE) instead of the one holding the sockets
	StartAt time.Time // push/broadcast: start posting at this time (several generators in step); zero: at once

	JSON   bool
	Stdout io.Writer
	Stderr io.Writer
}

// Defaults.
const (
	DefaultDuration    = 60 * time.Second
	DefaultHold        = 5 * time.Second
	DefaultConcurrency = 64
	MaxDuration        = 10 * time.Minute // signatures made at the start stay valid (SigV4 allows 15m of skew)
)

// run is the state every scenario shares.
type run struct {
	o      Options
	t      *target.Target
	ctx    context.Context
	start  time.Time
	nofile uint64
	pid    int
	base   procstat.Stat
	hist   Hist // message round trips (echo) or request latency (push, broadcast)
	conn   Hist // handshake latency
	sent   atomic.Int64
	recv   atomic.Int64
	errs   atomic.Int64
	errMu  sync.Mutex
	errMsg string
	phase  atomic.Pointer[string]
	pool   atomic.Pointer[wsclient.Pool]
	tokens []string           // connect tokens by connection index (JWT, Centrifugo)
	cf     *centrifugoSession // Centrifugo's protocol state; nil for wsgate and the floor
}

func (r *run) fail(err error) {
	r.errs.Add(1)
	r.errMu.Lock()
	if r.errMsg == "" {
		r.errMsg = err.Error()
	}
	r.errMu.Unlock()
}

func (r *run) setPhase(p string) { r.phase.Store(&p) }

// Run performs one scenario and prints its result line on Stdout. Progress goes to Stderr.
func Run(o Options) error {
	if o.Duration <= 0 {
		o.Duration = DefaultDuration
	}
	if o.Duration > MaxDuration {
		return fmt.Errorf("--duration %s: at most %s per run", o.Duration, MaxDuration)
	}
	if o.Hold <= 0 {
		o.Hold = DefaultHold
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Pipeline <= 0 {
		o.Pipeline = 1
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	switch {
	case o.Target == "" && o.SpawnBare:
		o.Target = TargetBare
	case o.Target == "":
		o.Target = TargetWsgate
	case o.Target != TargetWsgate && o.Target != TargetBare && o.Target != TargetCentrifugo:
		return fmt.Errorf("--target %q: use wsgate, bare or centrifugo", o.Target)
	}
	if o.SpawnBare && o.Target != TargetBare {
		return fmt.Errorf("--spawn-bare starts the bare floor: it does not go with --target %s", o.Target)
	}
	if o.Integration != "" && (o.Target != TargetBare || o.Scenario != "echo") {
		return fmt.Errorf("--integration URL is for echo on the floor (--spawn-bare): wsgate's integration is in its config")
	}
	switch o.IntegrationClient {
	case "", benchfloor.ClientNetHTTP, benchfloor.ClientMinimal:
		if o.IntegrationClient != "" && o.Integration == "" {
			return fmt.Errorf("--integration-client goes with --integration URL")
		}
	default:
		return fmt.Errorf("--integration-client %q: use %s or %s", o.IntegrationClient, benchfloor.ClientNetHTTP, benchfloor.ClientMinimal)
	}
	scenario, ok := scenarios[o.Scenario]
	if !ok {
		return fmt.Errorf("unknown scenario %q: use idle, echo, push, broadcast or churn", o.Scenario)
	}
	if err := scenario.check(&o); err != nil {
		return err
	}
	var cfg *config.Config
	var err error
	if o.Target == TargetCentrifugo {
		err = loadCentrifugoConfig(&o)
	} else {
		cfg, err = loadTargetConfig(&o)
	}
	if err != nil {
		return err
	}
	t, err := target.Parse(o.URL)
	if err != nil {
		return err
	}
	if o.MgmtURL != "" {
		if err := t.SetMgmt(o.MgmtURL); err != nil {
			return err
		}
	}
	soft, hard, err := procstat.RaiseNoFile()
	fmt.Fprintf(o.Stderr, "wsgate-bench: open-file limit %d (hard %d)\n", soft, hard)
	if err != nil {
		fmt.Fprintln(o.Stderr, "wsgate-bench:", err)
	}
	if need := uint64(o.Conns) + 64; o.Scenario != "churn" && need > soft {
		return fmt.Errorf("--conns %d needs about %d open files but the limit is %d: run several generator processes with fewer --conns each", o.Conns, need, soft)
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.Duration)
	defer cancel()
	r := &run{o: o, t: t, ctx: ctx, nofile: soft, pid: o.GatewayPID}
	if o.Target == TargetCentrifugo {
		r.cf = &centrifugoSession{r: r}
	}
	if o.JWT || (o.Target == TargetCentrifugo && (o.Scenario == "push" || o.Scenario == "broadcast")) {
		n := max(o.Conns, 1)
		if o.Scenario == "churn" {
			n = o.Warmup + o.Count // a token of its own for every cycle, warm-up included
		}
		if err := r.mintTokens(n, jwtSecret(&o, cfg), r.channelsFor); err != nil {
			return err
		}
	}
	r.setPhase("start")

	if o.Backend != "" {
		stop, err := backend.Start(o.Backend)
		if err != nil {
			return err
		}
		defer stop()
	}
	if o.Spawn || o.SpawnBare {
		p, err := spawn(&o, t)
		if err != nil {
			return err
		}
		defer p.stop(o.Stderr)
		r.pid = p.pid
	}
	if r.pid != 0 {
		if r.base, err = procstat.Read(r.pid); err != nil {
			return err
		}
	}
	stopProgress := r.progress()
	res := &Result{Scenario: o.Scenario, Kind: o.Target, Target: t.WS, NoFile: soft, GatewayPID: r.pid, LoadStart: loadAvg()}
	if o.Integration != "" {
		res.Kind = KindBareHop
		if o.IntegrationClient == benchfloor.ClientMinimal {
			res.Kind = KindBareHopMin
		}
	}
	err = scenario.run(r, cfg, res)
	stopProgress()
	if p := r.pool.Load(); p != nil {
		p.Close()
	}
	if err != nil {
		return err
	}
	res.Sent, res.Received = r.sent.Load(), r.recv.Load()
	h := &r.hist
	if o.Scenario == "idle" || o.Scenario == "churn" {
		h = &r.conn
	}
	res.P50, res.P90, res.P99, res.P999, res.Max = h.Quantile(.50), h.Quantile(.90), h.Quantile(.99), h.Quantile(.999), h.Max()
	res.Errors += r.errs.Load()
	res.ErrorSample = r.errMsg
	res.LoadEnd = loadAvg()
	return res.Write(o.Stdout, o.JSON)
}

// sampleGateway fills the gateway fields of res (no-op without a PID).
func (r *run) sampleGateway(res *Result, conns int64) {
	if r.pid == 0 {
		return
	}
	s, err := procstat.Read(r.pid)
	if err != nil {
		r.fail(err)
		return
	}
	res.GatewayRSS, res.BaseRSS = s.RSSKB, r.base.RSSKB
	res.GatewayCPU = s.CPUSecs - r.base.CPUSecs
	if conns > 0 {
		res.PerConnRSS = float64(s.RSSKB-r.base.RSSKB) * 1024 / float64(conns)
	}
}

// progress prints one line a second on stderr until stopped.
func (r *run) progress() (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		t0 := time.Now()
		var lastRecv, lastSent int64
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			open := int64(0)
			if p := r.pool.Load(); p != nil {
				open = p.Open()
			}
			sent, recv := r.sent.Load(), r.recv.Load()
			line := fmt.Sprintf("[%4.0fs] %-9s open=%d sent=%d (%d/s) recv=%d (%d/s) errors=%d",
				time.Since(t0).Seconds(), *r.phase.Load(), open, sent, sent-lastSent, recv, recv-lastRecv, r.errs.Load())
			lastSent, lastRecv = sent, recv
			if r.pid != 0 {
				if s, err := procstat.Read(r.pid); err == nil {
					line += fmt.Sprintf(" gateway_rss=%.1fMB cpu=%.1fs", float64(s.RSSKB)/1024, s.CPUSecs-r.base.CPUSecs)
				}
			}
			fmt.Fprintln(r.o.Stderr, line)
		}
	}()
	return func() { close(done); <-finished }
}

// pace hands out the numbers 0..n-1 at rate per second (0: as fast as they are taken) until
// ctx ends; the channel closes after the last.
func pace(ctx context.Context, n int, rate float64) <-chan int {
	ch := make(chan int, 1024)
	go func() {
		defer close(ch)
		t0 := time.Now()
		for i := 0; i < n; i++ {
			if rate > 0 {
				if due := t0.Add(time.Duration(float64(i) / rate * float64(time.Second))); time.Until(due) > time.Millisecond {
					select {
					case <-time.After(time.Until(due)):
					case <-ctx.Done():
						return
					}
				}
			}
			select {
			case ch <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

var errNoConns = errors.New("no connection could be opened")

// openConns opens o.Conns pooled connections at rate with o.Concurrency workers and returns
// them (nil entries for the ones that failed) and the achieved connect rate.
//
// onMessage gets each message (wsgate, the floor) or each publication's data (Centrifugo, whose
// connections count once their connect command is answered).
func (r *run) openConns(rate float64, onMessage func(*wsclient.Conn, []byte)) ([]*wsclient.Conn, float64, error) {
	if r.cf != nil {
		r.cf.started = make([]atomic.Int64, r.o.Conns)
		onMessage = r.cf.onMessage(onMessage)
	}
	pool, err := wsclient.NewPool(onMessage)
	if err != nil {
		return nil, 0, err
	}
	r.pool.Store(pool)
	r.setPhase("connect")
	d := &wsclient.Dialer{Target: r.t, Header: r.o.Header, Timeout: 10 * time.Second}
	conns := make([]*wsclient.Conn, r.o.Conns)
	next := pace(r.ctx, r.o.Conns, rate)
	var wg sync.WaitGroup
	var ok atomic.Int64
	t0 := time.Now()
	for range min(r.o.Concurrency, r.o.Conns) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ts := time.Now()
				if r.cf != nil {
					r.cf.started[i].Store(ts.UnixNano())
				}
				nc, early, err := d.Dial(r.ctx, r.dialHeader(i))
				if err != nil {
					r.fail(fmt.Errorf("connect: %w", err))
					continue
				}
				if r.cf == nil {
					r.conn.Record(time.Since(ts))
				}
				c, err := pool.Add(nc, early, i)
				if err != nil {
					r.fail(err)
					continue
				}
				if r.cf != nil {
					if err := c.Write(centrifugo.ConnectCommand(nil, 1, r.tokenFor(i))); err != nil {
						r.fail(fmt.Errorf("connect command: %w", err))
						continue
					}
				}
				conns[i] = c
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if r.cf != nil {
		r.cf.waitConnected(ok.Load())
		ok.Store(r.cf.connected.Load())
	}
	el := time.Since(t0).Seconds()
	if ok.Load() == 0 {
		return nil, 0, fmt.Errorf("%w: %s", errNoConns, r.errMsg)
	}
	return conns, float64(ok.Load()) / el, nil
}
