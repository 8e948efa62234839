package config

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/internal/awsservice"
	"github.com/wsgate/wsgate/internal/routing"
)

// Validate checks a config that ApplyDefaults has completed and returns every problem as an
// Errors (nil when the config is good). Load and Parse call it; code that builds a Config (such
// as `wsgate import`) calls ApplyDefaults and then Validate.
func (c *Config) Validate() error {
	if errs := c.validate(); len(errs) > 0 {
		return sortErrors(errs)
	}
	return nil
}

type validator struct {
	c    *Config
	errs Errors
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, v.c.Errorf(path, format, args...))
}

var (
	stageRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	apiIDRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	regionRE    = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+$`)
	accountRE   = regexp.MustCompile(`^[0-9]{12}$`)
	stageVarRE  = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	nodeIDRE    = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	reservedKey = []string{"$connect", "$disconnect", "$default"}
)

func (c *Config) validate() Errors {
	v := &validator{c: c}
	if !stageRE.MatchString(c.Stage) {
		v.add("stage", "%q is not a stage name; use 1 to 128 letters, digits, - or _ (it is the first path segment: ws://HOST/dev)", c.Stage)
	}
	v.listen("listen", c.Listen)
	if !apiIDRE.MatchString(c.APIID) {
		v.add("apiId", "%q is not an API id; use letters, digits, ., - or _ (it goes into requestContext.apiId and the methodArn)", c.APIID)
	}
	if _, err := routing.Compile(c.RouteSelectionExpression); err != nil {
		v.add("routeSelectionExpression", "%v; write e.g. $request.body.action", err)
	}
	if !regionRE.MatchString(c.Region) {
		v.add("region", "%q is not an AWS region; write one such as us-east-1", c.Region)
	}
	for _, k := range slices.Sorted(maps.Keys(c.AWS.Endpoints)) {
		if _, ok := awsservice.Lookup(k); !ok && k != awsservice.DefaultKey {
			v.add(join("aws", "endpoints", k), "unknown service; use one of %s, or %s for every service", strings.Join(awsservice.Supported(), ", "), awsservice.DefaultKey)
		} else {
			v.httpURL(join("aws", "endpoints", k), c.AWS.Endpoints[k], "http://127.0.0.1:4567")
		}
	}
	if !accountRE.MatchString(c.AccountID) {
		v.add("accountId", "%q is not an AWS account id; write 12 digits in quotes, e.g. \"123456789012\"", c.AccountID)
	}
	if d := c.DomainName; d != "" && (strings.Contains(d, "/") || strings.ContainsAny(d, " \t")) {
		v.add("domainName", "%q: write the host name only, e.g. ws.example.com (no scheme or path)", d)
	}
	if t := c.TLS; t != nil {
		switch t.Mode {
		case "", TLSAuto:
			if t.CertFile == "" && t.KeyFile != "" {
				v.add("tls.certFile", "required with tls.keyFile; write the path of a PEM certificate (chain), or remove keyFile to use the local CA")
			}
			if t.KeyFile == "" && t.CertFile != "" {
				v.add("tls.keyFile", "required with tls.certFile; write the path of the PEM private key")
			}
			if t.CAFile != "" && t.CertFile == "" {
				v.add("tls.caFile", "goes with tls.certFile (the CA that issued it); the local CA needs none")
			}
		case TLSOff:
			if t.CertFile != "" || t.KeyFile != "" || t.CAFile != "" || t.RequireTLS {
				v.add("tls.mode", "off serves plain text only; remove certFile, keyFile, caFile and requireTLS, or remove mode: off")
			}
		default:
			v.add("tls.mode", "%q: write auto (TLS with certFile/keyFile or the local CA, plus plain text) or off (plain text only)", t.Mode)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.StageVariables)) {
		if !stageVarRE.MatchString(name) {
			v.add(Path("stageVariables", name), "%q is not a stage variable name; use letters, digits and _", name)
		}
	}
	v.routes()
	for _, name := range slices.Sorted(maps.Keys(c.Integrations)) {
		v.integration(Path("integrations", name), c.Integrations[name])
	}
	for _, name := range slices.Sorted(maps.Keys(c.Authorizers)) {
		v.authorizer(Path("authorizers", name), c.Authorizers[name])
	}
	for _, name := range slices.Sorted(maps.Keys(c.Functions)) {
		v.function(Path("functions", name), name, c.Functions[name])
	}
	v.management()
	v.limits()
	if c.Shutdown.GracePeriod < 0 {
		v.add("shutdown.gracePeriod", "must not be negative; write e.g. 10s")
	}
	v.store()
	if a := c.Admin.Listen; a != "" {
		v.listen("admin.listen", a)
		if a == c.Listen {
			v.add("admin.listen", "is the same address as listen; use another port, or leave admin.listen empty to serve /metrics and /healthz on the main listener")
		}
	}
	if c.Admin.Pprof && c.Admin.Listen == "" {
		v.add("admin.pprof", "needs admin.listen: the profiler is served only on the admin listener, never on the one clients reach; set admin.listen: 127.0.0.1:9090")
	}
	if l := c.Log.Level; !slices.Contains([]string{"debug", "info", "warn", "error"}, l) {
		v.add("log.level", "%q is not a log level; write debug, info, warn or error%s", l, didYouMean(l, []string{"debug", "info", "warn", "error"}))
	}
	if f := c.Log.Format; f != "" && f != "text" && f != "json" {
		v.add("log.format", "%q is not a log format; write text or json (or leave it out: text on a terminal, json otherwise)", f)
	}
	return v.errs
}

// listen checks a host:port address.
func (v *validator) listen(path, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(path, "%q is not host:port; write e.g. 127.0.0.1:8080, or :8080 for every interface", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add(path, "%q: port %q is not a number from 0 to 65535", addr, port)
	}
	if strings.ContainsAny(host, " /") {
		v.add(path, "%q: host %q is not a host name or IP address", addr, host)
	}
}

func (v *validator) routes() {
	c := v.c
	for _, key := range slices.Sorted(maps.Keys(c.Routes)) {
		r := c.Routes[key]
		p := Path("routes", key)
		if strings.HasPrefix(key, "$") && !slices.Contains(reservedKey, key) {
			hint := didYouMean(key, reservedKey)
			if hint == "" {
				hint = "; the reserved keys are $connect, $disconnect and $default, and a custom key must not start with $"
			}
			v.add(p, "not a route key%s", hint)
			continue
		}
		if strings.TrimSpace(key) == "" {
			v.add(p, "a route key must not be blank")
			continue
		}
		var in *Integration
		if r.Integration != "" {
			if x, ok := c.Integrations[r.Integration]; ok {
				in = &x
			} else {
				v.add(p+".integration", "no integration named %q%s", r.Integration, nameHint(r.Integration, c.Integrations, "integrations"))
			}
		}
		if r.Authorizer != "" {
			if key != "$connect" {
				v.add(p+".authorizer", "only $connect can have an authorizer (it guards the whole connection); move it to routes.$connect")
			} else if _, ok := c.Authorizers[r.Authorizer]; !ok {
				v.add(p+".authorizer", "no authorizer named %q%s", r.Authorizer, nameHint(r.Authorizer, c.Authorizers, "authorizers"))
			}
		}
		if r.RouteResponse {
			switch {
			case key == "$disconnect":
				v.add(p+".routeResponse", "the socket is already closed when $disconnect runs, so nothing can be sent back; remove routeResponse")
			case r.Integration == "":
				v.add(p+".routeResponse", "a route response sends the integration's answer back, but the route has no integration; set integration or remove routeResponse")
			case in != nil && !isProxy(in.Type) && len(in.Responses) == 0 && knownType(in.Type):
				v.add(p+".routeResponse", "integration %q is %s, which answers only through its responses, and it has none; add `responses: {$default: {}}` to integrations.%s to send the backend's answer back unchanged",
					r.Integration, in.Type, r.Integration)
			}
		}
	}
}

// nameHint suggests a defined name close to got, or says where names are defined.
func nameHint[T any](got string, defined map[string]T, section string) string {
	names := slices.Sorted(maps.Keys(defined))
	if h := didYouMean(got, names); h != "" {
		return h
	}
	if len(names) == 0 {
		return fmt.Sprintf("; define it under %s:", section)
	}
	return fmt.Sprintf("; define it under %s: (defined: %s)", section, strings.Join(names, ", "))
}

func (v *validator) management() {
	seen := map[string]int{}
	for i, cr := range v.c.Management.Credentials {
		p := Path("management", "credentials", i)
		if cr.AccessKeyID == "" {
			v.add(p+".accessKeyId", "required; write the access key id SDK clients sign with, e.g. \"${WSGATE_ACCESS_KEY_ID}\"")
		} else if j, dup := seen[cr.AccessKeyID]; dup {
			v.add(p+".accessKeyId", "the same access key id as credentials[%d]; each key id must be unique", j)
		} else {
			seen[cr.AccessKeyID] = i
		}
		if cr.SecretAccessKey == "" {
			v.add(p+".secretAccessKey", "required; write the secret, e.g. \"${WSGATE_SECRET_ACCESS_KEY}\"")
		}
	}
}

func (v *validator) limits() {
	l := v.c.Limits
	for _, s := range []struct {
		name string
		val  Size
	}{{"messageBytes", l.MessageBytes}, {"frameBytes", l.FrameBytes}, {"sendQueueBytes", l.SendQueueBytes}, {"handshakeHeaderBytes", l.HandshakeHeaderBytes}} {
		if s.val <= 0 {
			v.add("limits."+s.name, "must be positive; write e.g. 128KB")
		}
	}
	if l.FrameBytes > 0 && l.MessageBytes > 0 && l.FrameBytes > l.MessageBytes {
		v.add("limits.frameBytes", "%s is larger than messageBytes (%s); a frame is part of a message, so make frameBytes at most messageBytes", l.FrameBytes, l.MessageBytes)
	}
	if l.SendQueueBytes > 0 && l.MessageBytes > 0 && l.SendQueueBytes < l.MessageBytes {
		v.add("limits.sendQueueBytes", "%s is smaller than messageBytes (%s); the send queue must hold at least one full message", l.SendQueueBytes, l.MessageBytes)
	}
	for _, d := range []struct {
		name string
		val  Duration
	}{{"idleTimeout", l.IdleTimeout}, {"maxConnectionDuration", l.MaxConnectionDuration}, {"pingInterval", l.PingInterval}, {"handshakeTimeout", l.HandshakeTimeout}} {
		if d.val <= 0 {
			v.add("limits."+d.name, "must be positive; write e.g. 30s")
		}
	}
	if n := l.HandshakeHeaders; n < 1 {
		v.add("limits.handshakeHeaders", "%d: must be positive; write e.g. 100 (header lines of an upgrade request)", n)
	}
	if n := l.ConcurrencyPerConnection; n < 1 || n > 1000 {
		v.add("limits.concurrencyPerConnection", "%d is out of range; write 1 (messages of a connection in order) up to 1000", n)
	}
	if l.InboundQueueBytes > 0 && l.MessageBytes > 0 && l.InboundQueueBytes < l.MessageBytes {
		v.add("limits.inboundQueueBytes", "%s is smaller than messageBytes (%s); the inbound queue must hold at least one full message", l.InboundQueueBytes, l.MessageBytes)
	} else if l.InboundQueueBytes <= 0 {
		v.add("limits.inboundQueueBytes", "must be positive; write e.g. 512KB (4 messages of messageBytes)")
	}
	if l.InboundStallTimeout <= 0 {
		v.add("limits.inboundStallTimeout", "must be positive; write e.g. 10s")
	}
	if n := l.ControlFramesPerSecond; n < 1 || n > 1_000_000 {
		v.add("limits.controlFramesPerSecond", "%d is out of range; write a number of pings and pongs per second from 1, e.g. 10", n)
	}
	if n := l.MaxInflightCalls; n < 1 || n > 1_000_000 {
		v.add("limits.maxInflightCalls", "%d is out of range; write a number of integration calls from 1, e.g. 1000", n)
	}
	if b := l.SocketSendBufferBytes; b < 4096 || b > 64<<20 {
		v.add("limits.socketSendBufferBytes", "%s is out of range; write a size from 4KB to 64MB, e.g. 32KB", b)
	}
}

func (v *validator) store() {
	s := v.c.Store
	switch s.Type {
	case "memory":
		if s.URL != "" {
			v.add("store.url", "only used by store type redis; remove it, or set type: redis")
		}
	case "redis":
		if s.URL == "" {
			v.add("store.url", "required for store type redis; write e.g. redis://127.0.0.1:6379/0 (rediss:// for TLS, unix:///path/redis.sock)")
			break
		}
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
			v.add("store.url", "%q is not a Redis URL; write redis://HOST:6379/0, rediss://HOST:6379/0 or unix:///path/redis.sock", redactURL(s.URL))
		} else if u.Scheme != "unix" && u.Host == "" {
			v.add("store.url", "%q has no host; write redis://HOST:6379/0", redactURL(s.URL))
		}
	default:
		v.add("store.type", "%q is not a store type; write memory (one node) or redis (several nodes)%s", s.Type, didYouMean(s.Type, []string{"memory", "redis"}))
	}
	if s.NodeLeaseTTL < Duration(MinNodeLeaseTTL) {
		v.add("store.nodeLeaseTtl", "%s is too short; write at least 1s (default %s)", s.NodeLeaseTTL, time.Duration(DefaultNodeLeaseTTL))
	}
	if s.NodeID != "" && !nodeIDRE.MatchString(s.NodeID) {
		v.add("store.nodeId", "%q: use letters, digits, ., :, - or _ (at most 128)", s.NodeID)
	}
	if strings.ContainsAny(s.Prefix, " \t\n{}") {
		v.add("store.prefix", "%q: a key prefix must not contain spaces or braces", s.Prefix)
	}
}

// redactURL hides a password in a URL before it is printed.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if i := strings.LastIndexByte(s, '@'); i >= 0 {
			return "***" + s[i:]
		}
		return s
	}
	return u.Redacted()
}
