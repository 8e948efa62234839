package config

import "slices"

// JWT algorithms by key material. Never "none", and never HS* with a JWKS (key confusion).
var (
	hmacAlgorithms = StringList{"HS256", "HS384", "HS512"}
	jwksAlgorithms = StringList{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}
)

// ApplyDefaults fills every zero field with its Default* value, so that consumers read a
// complete config. It is idempotent. Load and Parse call it; code that builds a Config itself
// calls it before Validate.
//
// Fields left empty on purpose: DomainName (the upgrade's Host header), TLS (nil: mode auto),
// State.Dir (localca.DefaultDir, which reads the environment), Admin.Listen (metrics
// on the main listener), Log.Format (text on a terminal, JSON otherwise), Store.URL and
// Store.NodeID, StageVariables, and an authorizer's Issuer and Audience (not checked). A JWT
// authorizer's Algorithms and UserIDClaim also stay empty: empty algorithms means every one its
// key material verifies, and an empty userIdClaim means "sub" if the token has it (a claim
// that is named must be present), a difference the authorizer needs to see.
func (c *Config) ApplyDefaults() { c.defaults(fill) }

// clearDefaults undoes ApplyDefaults on a copy about to be written out, so that a marshalled
// config says only what differs from the defaults. Maps are replaced, never modified in place.
func (c *Config) clearDefaults() { c.defaults(strip) }

// walk is what a pass over the defaults does to each field.
type walk bool

const (
	fill  walk = false // a zero field gets its default (ApplyDefaults)
	strip walk = true  // a field at its default becomes zero (clearDefaults)
)

// defaults is the one list of defaults, walked by ApplyDefaults and clearDefaults alike, so a
// default cannot be applied without being cleared or the reverse.
//
// Two defaults depend on another field. field returns a field's value with defaults applied
// (after filling it, or before stripping it), and the dependent default is computed from that
// value, so the order of the calls does not matter:
//   - an AWS or AWS_PROXY integration's region defaults to the API's region;
//   - limits.inboundQueueBytes defaults to InboundQueueMessages × limits.messageBytes.
func (c *Config) defaults(w walk) {
	field(w, &c.Listen, DefaultListen)
	field(w, &c.Stage, DefaultStage)
	field(w, &c.APIID, DefaultAPIID)
	region := field(w, &c.Region, DefaultRegion)
	field(w, &c.AccountID, DefaultAccountID)
	field(w, &c.RouteSelectionExpression, DefaultRouteSelectionExpression)

	c.Integrations = entries(w, c.Integrations, func(in *Integration) { in.defaults(w, region) })
	c.Authorizers = entries(w, c.Authorizers, func(a *Authorizer) { a.defaults(w) })

	l := &c.Limits
	messageBytes := field(w, &l.MessageBytes, DefaultMessageBytes)
	field(w, &l.FrameBytes, DefaultFrameBytes)
	field(w, &l.IdleTimeout, Duration(DefaultIdleTimeout))
	field(w, &l.MaxConnectionDuration, Duration(DefaultMaxConnectionDuration))
	field(w, &l.PingInterval, Duration(DefaultPingInterval))
	field(w, &l.SendQueueBytes, DefaultSendQueueBytes)
	field(w, &l.HandshakeTimeout, Duration(DefaultHandshakeTimeout))
	field(w, &l.HandshakeHeaderBytes, DefaultHandshakeHeaderBytes)
	field(w, &l.HandshakeHeaders, DefaultHandshakeHeaders)
	field(w, &l.ConcurrencyPerConnection, DefaultConcurrencyPerConnection)
	field(w, &l.InboundQueueBytes, InboundQueueMessages*messageBytes)
	field(w, &l.InboundStallTimeout, Duration(DefaultInboundStallTimeout))
	field(w, &l.ControlFramesPerSecond, DefaultControlFramesPerSecond)
	field(w, &l.MaxInflightCalls, DefaultMaxInflightCalls)
	field(w, &l.SocketSendBufferBytes, DefaultSocketSendBufferBytes)

	field(w, &c.Shutdown.GracePeriod, Duration(DefaultShutdownGrace))

	field(w, &c.Store.Type, DefaultStoreType)
	field(w, &c.Store.Prefix, DefaultStorePrefix)
	field(w, &c.Store.NodeLeaseTTL, Duration(DefaultNodeLeaseTTL))

	field(w, &c.Log.Level, DefaultLogLevel)
}

// defaults of an integration; region is the API's region with defaults applied.
func (in *Integration) defaults(w walk, region string) {
	field(w, &in.Method, DefaultIntegrationMethod)
	field(w, &in.Timeout, Duration(DefaultIntegrationTimeout))
	field(w, &in.PassthroughBehavior, DefaultPassthroughBehavior)
	if in.Type == AWSProxy || in.Type == AWS {
		field(w, &in.Region, region)
	}
}

func (a *Authorizer) defaults(w walk) {
	list(w, &a.IdentitySource, StringList{DefaultIdentitySource})
	switch a.Type {
	case JWT:
		field(w, &a.Leeway, Duration(DefaultAuthorizerLeeway))
	case Request:
		field(w, &a.IntegrationType, DefaultREQUESTIntegrationType)
		field(w, &a.Timeout, Duration(DefaultAuthorizerTimeout))
	}
}

// field fills *p with v if it is zero (fill), or zeroes it if it equals v (strip), and returns
// its value with defaults applied: the value after filling, or before stripping.
func field[T comparable](w walk, p *T, v T) T {
	applied := *p
	var zero T
	switch {
	case w == fill && *p == zero:
		*p, applied = v, v
	case w == strip && *p == v:
		*p = zero
	}
	return applied
}

// list is field for a list whose default is v; an empty list counts as zero.
func list(w walk, p *StringList, v StringList) {
	switch {
	case w == fill && len(*p) == 0:
		*p = v
	case w == strip && slices.Equal(*p, v):
		*p = nil
	}
}

// entries walks f over each value of m. A strip walk returns a new map, as its config is a copy
// that shares its maps with the caller's; a fill walk updates m in place.
func entries[V any](w walk, m map[string]V, f func(*V)) map[string]V {
	if m == nil {
		return nil
	}
	out := m
	if w == strip {
		out = make(map[string]V, len(m))
	}
	for k, v := range m {
		f(&v)
		out[k] = v
	}
	return out
}
