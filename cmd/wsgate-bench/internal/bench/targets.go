package bench

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/centrifugo"
	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/wsclient"
	"github.com/wsgate/wsgate/internal/config"
)

// The servers a run can load. wsgate and the bare floor need nothing on a socket after the
// 101; Centrifugo needs its connect command answered before a connection counts, a pong for
// each ping, and its publications unwrapped (package centrifugo).
const (
	TargetWsgate     = "wsgate"
	TargetBare       = "bare"
	TargetCentrifugo = "centrifugo"
)

// KindBareHop is the result's kind for the floor with --integration: echo plus one HTTP call
// per message to the backend, the part of wsgate's HTTP_PROXY echo no gateway can avoid.
const KindBareHop = "bare+hop"

// KindBareHopMin is KindBareHop with the floor's minimal HTTP client (--integration-client
// minimal): one write per request, the answer read on the calling goroutine.
const KindBareHopMin = "bare+hop-min"

// Channel names the Centrifugo scenarios subscribe connections to through the connect
// token's "channels" claim: each connection's own (push, idle with --jwt, --broadcast-api)
// or one shared by all (broadcast by publication).
const (
	channelPrefix = "bench-c"
	channelAll    = "bench-all"
)

func ownChannel(i int) string { return channelPrefix + strconv.Itoa(i) }

// tokenTTL is the lifetime of the minted tokens: longer than any run (MaxDuration).
const tokenTTL = time.Hour

// centrifugoPath is where Centrifugo serves its bidirectional WebSocket.
const centrifugoPath = "/connection/websocket"

// loadCentrifugoConfig fills the URL, API key and HMAC secret from a Centrifugo JSON config.
func loadCentrifugoConfig(o *Options) error {
	if o.Config == "" {
		if o.Spawn {
			return fmt.Errorf("--spawn --target centrifugo needs --config FILE (the Centrifugo JSON config it runs)")
		}
		if o.URL == "" {
			return fmt.Errorf("--url: give Centrifugo's ws://127.0.0.1:PORT%s, or --config FILE to read it from", centrifugoPath)
		}
		return nil
	}
	c, err := centrifugo.LoadConfig(o.Config)
	if err != nil {
		return err
	}
	if o.URL == "" {
		host := c.Address
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		o.URL = "ws://" + net.JoinHostPort(host, strconv.Itoa(c.Port)) + centrifugoPath
	}
	if o.APIKey == "" {
		o.APIKey = c.APIKey
	}
	if o.HMACSecret == "" {
		o.HMACSecret = c.HMACSecret
	}
	o.apiPrefix = c.APIPrefix
	return nil
}

// jwtSecret finds the secret connect tokens are signed with: --hmac-secret, else (wsgate) the
// config's first JWT authorizer with a secret.
func jwtSecret(o *Options, cfg *config.Config) string {
	if o.HMACSecret != "" || cfg == nil {
		return o.HMACSecret
	}
	for _, a := range cfg.Authorizers {
		if a.Type == "JWT" && a.Secret != "" {
			return a.Secret
		}
	}
	return ""
}

// mintTokens signs one connect token per connection index before the run (signing is kept off
// the load path, as SigV4 is): user "bench-<i>", channels by scenario.
func (r *run) mintTokens(n int, secret string, channels func(i int) []string) error {
	if secret == "" {
		return fmt.Errorf("connect tokens need a secret: give --hmac-secret, or a config with one (Centrifugo's client.token.hmac_secret_key, a wsgate JWT authorizer's secret)")
	}
	t0 := time.Now()
	r.tokens = make([]string, n)
	for i := range n {
		tok, err := centrifugo.Token([]byte(secret), "bench-"+strconv.Itoa(i), channels(i), tokenTTL)
		if err != nil {
			return err
		}
		r.tokens[i] = tok
	}
	fmt.Fprintf(r.o.Stderr, "wsgate-bench: %d connect tokens signed in %s (before the run)\n", n, time.Since(t0).Round(time.Millisecond))
	return nil
}

// tokenFor is connection i's token ("" without tokens).
func (r *run) tokenFor(i int) string {
	if r.tokens == nil {
		return ""
	}
	return r.tokens[i%len(r.tokens)]
}

// dialHeader is the handshake header of connection i: wsgate carries the token as
// "Authorization: Bearer" (the bench JWT configs' identity source); Centrifugo carries it in
// its connect command instead.
func (r *run) dialHeader(i int) http.Header {
	tok := r.tokenFor(i)
	if tok == "" || r.o.Target == TargetCentrifugo {
		return nil
	}
	h := r.o.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Authorization", "Bearer "+tok)
	return h
}

// centrifugoSession wraps a scenario's onMessage for Centrifugo's protocol: it answers pings,
// counts connect results (recording the handshake latency up to the connect result), turns
// errors and disconnects into run errors, and hands each publication's data to deliver.
type centrifugoSession struct {
	r         *run
	connected atomic.Int64
	refused   atomic.Int64
	started   []atomic.Int64 // unix nanos when connection i's dial began
}

func (s *centrifugoSession) onMessage(deliver func(*wsclient.Conn, []byte)) func(*wsclient.Conn, []byte) {
	return func(c *wsclient.Conn, msg []byte) {
		err := centrifugo.Decode(msg, func(rp centrifugo.Reply) {
			switch rp.Kind {
			case centrifugo.Ping:
				if err := c.Write(centrifugo.Pong); err != nil {
					s.r.fail(fmt.Errorf("pong: %w", err))
				}
			case centrifugo.Publication:
				if deliver != nil {
					deliver(c, rp.Data)
				}
			case centrifugo.Connected:
				if t := s.started[c.Index].Load(); t != 0 {
					s.r.conn.Record(time.Since(time.Unix(0, t)))
				}
				s.connected.Add(1)
			case centrifugo.Error:
				s.refused.Add(1)
				s.r.fail(fmt.Errorf("centrifugo: command %d: error %d %s", rp.ID, rp.Code, rp.Message))
			case centrifugo.Disconnect:
				s.refused.Add(1)
				s.r.fail(fmt.Errorf("centrifugo: disconnect %d %s", rp.Code, rp.Message))
			}
		})
		if err != nil {
			s.r.fail(err)
		}
	}
}

// waitConnected waits until every open connection has its connect result (or was refused, or
// closed), or the run's time is up.
func (s *centrifugoSession) waitConnected(opened int64) {
	s.r.setPhase("connect-cmd")
	for s.r.ctx.Err() == nil {
		p := s.r.pool.Load()
		if s.connected.Load()+s.refused.Load()+p.Lost() >= opened {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// channelsFor is connection i's channels claim: the shared channel for a broadcast by
// publication, else its own channel (a per-user channel).
func (r *run) channelsFor(i int) []string {
	if r.o.Scenario == "broadcast" && !r.o.BroadcastAPI {
		return []string{channelAll}
	}
	return []string{ownChannel(i)}
}
