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
func (c *Config) ApplyDefaults() {
	def(&c.Listen, DefaultListen)
	def(&c.Stage, DefaultStage)
	def(&c.APIID, DefaultAPIID)
	def(&c.Region, DefaultRegion)
	def(&c.AccountID, DefaultAccountID)
	def(&c.RouteSelectionExpression, DefaultRouteSelectionExpression)

	for name, in := range c.Integrations {
		in.applyDefaults(c.Region)
		c.Integrations[name] = in
	}
	for name, a := range c.Authorizers {
		a.applyDefaults()
		c.Authorizers[name] = a
	}

	l := &c.Limits
	def(&l.MessageBytes, DefaultMessageBytes)
	def(&l.FrameBytes, DefaultFrameBytes)
	def(&l.IdleTimeout, Duration(DefaultIdleTimeout))
	def(&l.MaxConnectionDuration, Duration(DefaultMaxConnectionDuration))
	def(&l.PingInterval, Duration(DefaultPingInterval))
	def(&l.SendQueueBytes, DefaultSendQueueBytes)
	def(&l.HandshakeTimeout, Duration(DefaultHandshakeTimeout))
	def(&l.HandshakeHeaderBytes, DefaultHandshakeHeaderBytes)
	def(&l.HandshakeHeaders, DefaultHandshakeHeaders)
	def(&l.ConcurrencyPerConnection, DefaultConcurrencyPerConnection)
	def(&l.InboundQueueBytes, InboundQueueMessages*l.MessageBytes)
	def(&l.InboundStallTimeout, Duration(DefaultInboundStallTimeout))
	def(&l.ControlFramesPerSecond, DefaultControlFramesPerSecond)
	def(&l.MaxInflightCalls, DefaultMaxInflightCalls)
	def(&l.SocketSendBufferBytes, DefaultSocketSendBufferBytes)

	def(&c.Shutdown.GracePeriod, Duration(DefaultShutdownGrace))

	def(&c.Store.Type, DefaultStoreType)
	def(&c.Store.Prefix, DefaultStorePrefix)
	def(&c.Store.NodeLeaseTTL, Duration(DefaultNodeLeaseTTL))

	def(&c.Log.Level, DefaultLogLevel)
}

func (in *Integration) applyDefaults(region string) {
	def(&in.Method, DefaultIntegrationMethod)
	def(&in.Timeout, Duration(DefaultIntegrationTimeout))
	def(&in.PassthroughBehavior, DefaultPassthroughBehavior)
	if in.Type == AWSProxy || in.Type == AWS {
		def(&in.Region, region)
	}
}

func (a *Authorizer) applyDefaults() {
	if len(a.IdentitySource) == 0 {
		a.IdentitySource = StringList{DefaultIdentitySource}
	}
	switch a.Type {
	case JWT:
		def(&a.Leeway, Duration(DefaultAuthorizerLeeway))
	case Request:
		def(&a.IntegrationType, DefaultREQUESTIntegrationType)
		def(&a.Timeout, Duration(DefaultAuthorizerTimeout))
	}
}

func def[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// clearDefaults undoes ApplyDefaults on a copy about to be written out, so that a marshalled
// config says only what differs from the defaults. Maps are replaced, never modified in place.
func (c *Config) clearDefaults() {
	undef(&c.Listen, DefaultListen)
	undef(&c.Stage, DefaultStage)
	undef(&c.APIID, DefaultAPIID)
	undef(&c.AccountID, DefaultAccountID)
	undef(&c.RouteSelectionExpression, DefaultRouteSelectionExpression)
	if c.Integrations != nil {
		m := make(map[string]Integration, len(c.Integrations))
		for name, in := range c.Integrations {
			undef(&in.Method, DefaultIntegrationMethod)
			undef(&in.Timeout, Duration(DefaultIntegrationTimeout))
			undef(&in.PassthroughBehavior, DefaultPassthroughBehavior)
			if in.Type == AWSProxy || in.Type == AWS {
				undef(&in.Region, c.Region)
			}
			m[name] = in
		}
		c.Integrations = m
	}
	if c.Authorizers != nil {
		m := make(map[string]Authorizer, len(c.Authorizers))
		for name, a := range c.Authorizers {
			if slices.Equal(a.IdentitySource, StringList{DefaultIdentitySource}) {
				a.IdentitySource = nil
			}
			switch a.Type {
			case JWT:
				undef(&a.Leeway, Duration(DefaultAuthorizerLeeway))
			case Request:
				undef(&a.IntegrationType, DefaultREQUESTIntegrationType)
				undef(&a.Timeout, Duration(DefaultAuthorizerTimeout))
			}
			m[name] = a
		}
		c.Authorizers = m
	}
	undef(&c.Region, DefaultRegion) // after the integrations, which compare against it

	l := &c.Limits
	undef(&l.InboundQueueBytes, InboundQueueMessages*l.MessageBytes) // before messageBytes
	undef(&l.MessageBytes, DefaultMessageBytes)
	undef(&l.FrameBytes, DefaultFrameBytes)
	undef(&l.IdleTimeout, Duration(DefaultIdleTimeout))
	undef(&l.MaxConnectionDuration, Duration(DefaultMaxConnectionDuration))
	undef(&l.PingInterval, Duration(DefaultPingInterval))
	undef(&l.SendQueueBytes, DefaultSendQueueBytes)
	undef(&l.HandshakeTimeout, Duration(DefaultHandshakeTimeout))
	undef(&l.HandshakeHeaderBytes, DefaultHandshakeHeaderBytes)
	undef(&l.HandshakeHeaders, DefaultHandshakeHeaders)
	undef(&l.ConcurrencyPerConnection, DefaultConcurrencyPerConnection)
	undef(&l.InboundStallTimeout, Duration(DefaultInboundStallTimeout))
	undef(&l.ControlFramesPerSecond, DefaultControlFramesPerSecond)
	undef(&l.MaxInflightCalls, DefaultMaxInflightCalls)
	undef(&l.SocketSendBufferBytes, DefaultSocketSendBufferBytes)

	undef(&c.Shutdown.GracePeriod, Duration(DefaultShutdownGrace))

	undef(&c.Store.Type, DefaultStoreType)
	undef(&c.Store.Prefix, DefaultStorePrefix)
	undef(&c.Store.NodeLeaseTTL, Duration(DefaultNodeLeaseTTL))

	undef(&c.Log.Level, DefaultLogLevel)
}

func undef[T comparable](p *T, v T) {
	if *p == v {
		var zero T
		*p = zero
	}
}
