package server

import (
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/wsgate/wsgate/internal/authorizer"
	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/gateway"
)

// retireAfter is how long authorizers replaced by a reload stay open for the handshakes that
// started with them (a $connect takes at most the handshake timeout plus the integration's
// timeout, 29 s by default), before their background work (JWKS refresh) is stopped.
const retireAfter = time.Minute

// reloader is the part of Server that Reload changes; its zero value is ready.
type reloader struct {
	// mu serializes Reload and guards Server.auths and retired.
	mu sync.Mutex
	// retired are authorizers a reload replaced, still open for handshakes that started
	// with them; closed retireAfter later, or by Shutdown.
	retired []authorizer.Authorizer
}

// Reload applies cfg (loaded and validated by the caller, as config.Load does) to the running
// node without closing any socket: the route selection expression, routes, integrations,
// authorizers, stage variables and management credentials take effect for every handshake,
// message and management call that starts after it returns; those in flight finish with what
// they started with.
//
// The limits read per message or per sweep (idle timeout, maximum duration, ping interval,
// binary frames, concurrency per connection, control frame rate, inbound stall timeout) apply
// to open connections too. Settings that only take effect at start (listen, admin, tls,
// store, stage, apiId, domainName, log, the limits that size buffers and queues) are not
// applied: restart lists the keys among them whose values differ from the running ones, so
// the caller can say a restart is needed.
//
// If anything in cfg cannot be built (an integration URI, a JWKS URL), Reload returns every
// such error, each naming file:line: key, and the node keeps serving exactly as before.
func (s *Server) Reload(cfg *config.Config) (restart []string, err error) {
	s.reload.mu.Lock()
	defer s.reload.mu.Unlock()

	// Build everything first; nothing is swapped unless all of it builds.
	b := &Server{cfg: cfg, log: s.log, fns: s.fns, pool: s.pool} // build and keyErr read cfg, log, the functions (restart-only) and the backend pool only
	selector, routes, err := b.build()                           // what New and Check build, the same way
	if err != nil {
		b.closeAuthorizers()
		return nil, err
	}

	s.gw.SetRouteTable(&gateway.RouteTable{Selector: selector, Routes: routes})
	s.gw.SetLimits(gatewayLimits(cfg.Limits))
	s.verifier.SetCredentials(s.credentials(cfg))
	s.mgmt.SetTrustLoopback(len(cfg.Management.Credentials) == 0)
	s.logManagementMode(cfg)
	s.dash.SetCredentials(pageCredentials(cfg))

	old := s.auths
	s.auths = b.auths
	s.reload.retired = append(s.reload.retired, old...)
	if len(old) > 0 {
		time.AfterFunc(retireAfter, func() { s.closeRetired(old) })
	}
	return restartOnly(s.cfg, cfg), nil
}

// closeRetired closes the authorizers of old that Shutdown has not closed yet.
func (s *Server) closeRetired(old []authorizer.Authorizer) {
	s.reload.mu.Lock()
	defer s.reload.mu.Unlock()
	for _, a := range old {
		for i, r := range s.reload.retired {
			if r == a {
				_ = a.Close()
				s.reload.retired = append(s.reload.retired[:i], s.reload.retired[i+1:]...)
				break
			}
		}
	}
}

// credentials is management.credentials as the verifier's map, plus the key generated for the
// functions wsgate runs when there was none.
func (s *Server) credentials(cfg *config.Config) map[string]string {
	m := make(map[string]string, len(cfg.Management.Credentials)+1)
	for _, c := range cfg.Management.Credentials {
		m[c.AccessKeyID] = c.SecretAccessKey
	}
	if s.generated {
		m[s.fnCreds.AccessKeyID] = s.fnCreds.SecretAccessKey
	}
	return m
}

// liveKeys are the top-level config keys Reload applies; every other key is read only at start.
var liveKeys = map[string]bool{
	"region": true, "accountId": true, // read by integrations and authorizers, which are rebuilt
	"routeSelectionExpression": true, "stageVariables": true,
	"routes": true, "integrations": true, "authorizers": true,
	"management": true, // credentials
	"limits":     true, // in part: restartOnlyLimits names the rest
	"shutdown":   true, // read by the caller when it stops
}

// restartOnly lists the top-level config keys that Reload does not apply and whose values
// differ between running and next, in the order of config.Config. A key added to the config
// later is restart-only until it is added to liveKeys and applied by Reload.
func restartOnly(running, next *config.Config) []string {
	var keys []string
	a, b := reflect.ValueOf(running).Elem(), reflect.ValueOf(next).Elem()
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || key == "" || key == "-" || liveKeys[key] {
			continue
		}
		if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			keys = append(keys, key)
		}
	}
	return append(keys, restartOnlyLimits(running.Limits, next.Limits)...)
}

// restartOnlyLimits names, as limits.key, the limits that differ between running and next
// and that gateway.SetLimits does not change on a running gateway.
func restartOnlyLimits(running, next config.Limits) []string {
	var keys []string
	rv, nv := reflect.ValueOf(running), reflect.ValueOf(next)
	for i := range rv.NumField() {
		if reflect.DeepEqual(rv.Field(i).Interface(), nv.Field(i).Interface()) {
			continue
		}
		probe := running // running with only this limit changed
		reflect.ValueOf(&probe).Elem().Field(i).Set(nv.Field(i))
		want := gatewayLimits(probe)
		if gateway.LiveLimitsOnly(gatewayLimits(running), want) != want {
			key, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("yaml"), ",")
			keys = append(keys, "limits."+key)
		}
	}
	return keys
}

// gatewayLimits is the config's limits in the gateway's units.
func gatewayLimits(l config.Limits) gateway.Limits {
	return gateway.Limits{
		MessageBytes: int(l.MessageBytes), FrameBytes: int(l.FrameBytes), IdleTimeout: l.IdleTimeout.D(),
		MaxConnectionDuration: l.MaxConnectionDuration.D(), PingInterval: l.PingInterval.D(),
		SendQueueBytes: int(l.SendQueueBytes), HandshakeTimeout: l.HandshakeTimeout.D(),
		AllowBinary: l.AllowBinary, ConcurrencyPerConnection: l.ConcurrencyPerConnection,
		InboundQueueBytes: int(l.InboundQueueBytes), InboundStallTimeout: l.InboundStallTimeout.D(),
		ControlFramesPerSecond: l.ControlFramesPerSecond, MaxInflightCalls: l.MaxInflightCalls,
		SocketSendBuffer:     int(l.SocketSendBufferBytes),
		HandshakeHeaderBytes: int(l.HandshakeHeaderBytes), HandshakeHeaders: l.HandshakeHeaders,
	}
}
