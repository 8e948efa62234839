package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// env is the environment the table tests see.
var env = map[string]string{
	"JWT_SECRET": "s3cret",
	"KEY_ID":     "AKIDEXAMPLE",
	"KEY_SECRET": "wJalrXUtnFEMI",
	"EMPTY":      "",
	"PORT":       "9001",
}

func lookupEnv(name string) (string, bool) {
	v, ok := env[name]
	return v, ok
}

// parseT parses src (leading tabs are not allowed in YAML, so tests write spaces).
func parseT(src string) (*Config, error) {
	return parse("t.yaml", []byte(src), lookupEnv)
}

// messages returns err's Errors as strings, failing the test if err is not an Errors.
func messages(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, not Errors: %v", err, err)
	}
	if len(es) == 0 {
		t.Fatal("empty Errors returned as an error")
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	return out
}

// goodCases are valid configs and what they must decode to. FuzzParse is seeded from them.
var goodCases = []struct {
	name, src string
	check     func(t *testing.T, c *Config)
}{
	{"defaults", "stage: dev\n", func(t *testing.T, c *Config) {
		if c.Listen != DefaultListen || c.Stage != DefaultStage || c.Store.Type != "memory" {
			t.Errorf("defaults not applied: %+v", c)
		}
	}},
	{"design sketch", `
listen: 127.0.0.1:${PORT}
stage: dev
routeSelectionExpression: $request.body.action
routes:
  $connect:    { integration: app, authorizer: jwt }
  $disconnect: { integration: app }
  $default:    { integration: app, routeResponse: true }
integrations:
  app: { type: HTTP_PROXY, uri: http://127.0.0.1:3000/ws, timeout: 29s }
authorizers:
  jwt: { type: JWT, identitySource: route.request.querystring.Authorization, secret: "${JWT_SECRET}", userIdClaim: userId }
management:
  credentials: [ { accessKeyId: "${KEY_ID}", secretAccessKey: "${KEY_SECRET}" } ]
store: { type: memory }
`, func(t *testing.T, c *Config) {
		if c.Listen != "127.0.0.1:9001" {
			t.Errorf("listen = %q", c.Listen)
		}
		a := c.Authorizers["jwt"]
		if a.Secret != "s3cret" || a.UserIDClaim != "userId" || a.Leeway.D() != DefaultAuthorizerLeeway {
			t.Errorf("jwt = %+v", a)
		}
		if a.Algorithms != nil {
			t.Errorf("algorithms = %v; empty means what the key verifies, decided by the authorizer", a.Algorithms)
		}
		if len(a.IdentitySource) != 1 || a.IdentitySource[0] != "route.request.querystring.Authorization" {
			t.Errorf("identitySource = %v", a.IdentitySource)
		}
		in := c.Integrations["app"]
		if in.Method != "POST" || in.Timeout.D() != DefaultIntegrationTimeout || in.PassthroughBehavior != WhenNoMatch {
			t.Errorf("integration defaults = %+v", in)
		}
		if cr := c.Management.Credentials[0]; cr.AccessKeyID != "AKIDEXAMPLE" || cr.SecretAccessKey != "wJalrXUtnFEMI" {
			t.Errorf("credentials = %+v", cr)
		}
		if !c.Routes["$default"].RouteResponse || c.Routes["$connect"].Authorizer != "jwt" {
			t.Errorf("routes = %+v", c.Routes)
		}
		if got := c.Line("authorizers.jwt.secret"); got != 12 {
			t.Errorf("Line(authorizers.jwt.secret) = %d, want 12", got)
		}
		if got := c.Line("management.credentials[0].accessKeyId"); got != 14 {
			t.Errorf("Line(credentials[0].accessKeyId) = %d, want 14", got)
		}
	}},
	{"types and units", `
limits:
  messageBytes: 1MB
  frameBytes: 65536
  sendQueueBytes: 2 MB
  idleTimeout: 1h30m
  pingInterval: 500ms
  allowBinary: true
  concurrencyPerConnection: 4
`, func(t *testing.T, c *Config) {
		l := c.Limits
		if l.MessageBytes != 1<<20 || l.FrameBytes != 65536 || l.SendQueueBytes != 2<<20 {
			t.Errorf("sizes = %+v", l)
		}
		if l.IdleTimeout.D().Minutes() != 90 || l.PingInterval.D().Milliseconds() != 500 || !l.AllowBinary || l.ConcurrencyPerConnection != 4 {
			t.Errorf("limits = %+v", l)
		}
		if l.HandshakeTimeout.D() != DefaultHandshakeTimeout {
			t.Errorf("handshakeTimeout default = %v", l.HandshakeTimeout)
		}
	}},
	{"every integration type", `
stageVariables: { backend: "http://10.0.0.5:3000", fn: chat }
routes:
  a: { integration: proxy }
  b: { integration: http, routeResponse: true }
  c: { integration: lambda, routeResponse: true }
  d: { integration: svc, routeResponse: true }
  e: { integration: mock, routeResponse: true }
integrations:
  proxy:
    type: HTTP_PROXY
    uri: ${stageVariables.backend}/ws
    requestParameters:
      integration.request.header.connectionId: context.connectionId
      integration.request.header.Sec-WebSocket-Version: "'0'"
      integration.request.querystring.room: route.request.body.room.id
      integration.request.header.X-Token: route.request.header.Authorization
      integration.request.header.X-Stage: stageVariables.fn
  http:
    type: HTTP
    uri: https://api.example.com/orders
    method: PUT
    timeout: 50ms
    passthroughBehavior: NEVER
    templateSelectionExpression: ${request.body.kind}
    requestTemplates: { order: '{"id":"$context.connectionId"}' }
    responses:
      $default: {}
      /4\d\d/: { templateSelectionExpression: "${integration.response.statuscode}", templates: { "404": '{"missing":true}' } }
  lambda: { type: AWS_PROXY, uri: "${stageVariables.fn}", endpoint: http://127.0.0.1:9000 }
  svc: { type: AWS, uri: "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem", standin: http://127.0.0.1:3000/ddb, responses: { /200/: {} } }
  mock: { type: MOCK, requestTemplates: { $default: '{"statusCode":200}' }, responses: { '\$default': { templates: { $default: ok } } } }
`, func(t *testing.T, c *Config) {
		if got := c.Integrations["http"].TemplateSelectionExpression; got != "${request.body.kind}" {
			t.Errorf("templateSelectionExpression = %q", got)
		}
		if got := c.Integrations["http"].Responses["/4\\d\\d/"].TemplateSelectionExpression; got != "${integration.response.statuscode}" {
			t.Errorf("response templateSelectionExpression = %q", got)
		}
		if got := c.Integrations["proxy"].URI; got != "${stageVariables.backend}/ws" {
			t.Errorf("stage variables must be resolved at run time, not load time: uri = %q", got)
		}
		if got := c.Integrations["lambda"].Region; got != DefaultRegion {
			t.Errorf("AWS_PROXY region default = %q", got)
		}
		if got := c.Line(`integrations.proxy.requestParameters["integration.request.header.connectionId"]`); got != 14 {
			t.Errorf("line of a dotted key = %d, want 14", got)
		}
	}},
	{"lambda forms and REQUEST authorizers", `
routes:
  $connect: { integration: a, authorizer: lam }
integrations:
  a: { type: AWS_PROXY, uri: "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:fn:live/invocations" }
  b: { type: AWS_PROXY, uri: "123456789012:function:fn" }
  c: { type: AWS_PROXY, uri: "fn:$LATEST" }
authorizers:
  lam: { type: REQUEST, uri: arn:aws:lambda:us-east-1:123456789012:function:auth, resultTtl: 5m, identitySource: [route.request.header.Auth, context.connectionId, stageVariables.x] }
  web: { type: REQUEST, integrationType: HTTP, uri: "http://127.0.0.1:3000/auth", timeout: 2s }
  keys: { type: JWT, jwksUrl: "https://example.com/jwks.json", algorithms: [RS256, ES256], audience: [a, b] }
`, func(t *testing.T, c *Config) {
		if got := FunctionName(c.Integrations["a"].URI); got != "arn:aws:lambda:eu-west-1:123456789012:function:fn:live" {
			t.Errorf("FunctionName = %q", got)
		}
		lam := c.Authorizers["lam"]
		if lam.IntegrationType != AWSProxy || lam.Timeout.D() != DefaultAuthorizerTimeout || lam.ResultTTL.D().Minutes() != 5 {
			t.Errorf("REQUEST defaults = %+v", lam)
		}
		if lam.Leeway != 0 || lam.UserIDClaim != "" || lam.Algorithms != nil {
			t.Errorf("JWT defaults leaked into a REQUEST authorizer: %+v", lam)
		}
		if got := c.Authorizers["web"].IdentitySource; len(got) != 1 || got[0] != DefaultIdentitySource {
			t.Errorf("identitySource default = %v", got)
		}
		if got := c.Authorizers["keys"].UserIDClaim; got != "" {
			t.Errorf("userIdClaim must stay empty (optional sub) unless written: %q", got)
		}
	}},
	{"redis, tls, admin, log, anchors", `
integrations:
  a: &base { type: HTTP_PROXY, uri: "http://b:1/", timeout: 5s }
  b: { <<: *base, uri: "http://c:2/" }
store: { type: redis, url: "rediss://user:pw@redis.internal:6380/2", nodeLeaseTtl: 5s, nodeId: node-1 }
tls: { certFile: c.pem, keyFile: k.pem }
admin: { listen: ":9090" }
log: { level: debug, format: json }
`, func(t *testing.T, c *Config) {
		b := c.Integrations["b"]
		if b.URI != "http://c:2/" || b.Timeout.D().Seconds() != 5 || b.Type != HTTPProxy {
			t.Errorf("merge key: %+v", b)
		}
		if c.TLS == nil || c.TLS.KeyFile != "k.pem" || c.Admin.Listen != ":9090" || c.Log.Format != "json" {
			t.Errorf("config = %+v", c)
		}
	}},
}

func TestParseGood(t *testing.T) {
	for _, tc := range goodCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseT(tc.src)
			if err != nil {
				t.Fatalf("unexpected errors:\n%v", err)
			}
			tc.check(t, c)
			if c.File() != "t.yaml" {
				t.Errorf("File() = %q", c.File())
			}
		})
	}
}

// badCases are invalid configs and every message they must produce, in order.
var badCases = []struct {
	name, src string
	want      []string
}{
	{"unknown top-level key", `routs:
  $default: {integration: x}
`, []string{
		"t.yaml:1: routs: unknown key; did you mean routes?",
	}},
	{"unknown nested key", `routes:
  $default: {integraton: app, routeResponse: true}
integrations:
  app: {type: MOCK}
`, []string{
		"t.yaml:2: routes.$default.integraton: unknown key; did you mean integration?",
	}},
	{"unknown key no suggestion", `store:
  zzzzzz: 1
`, []string{
		"t.yaml:2: store.zzzzzz: unknown key; valid keys here: type, url, prefix, nodeLeaseTtl, nodeId",
	}},
	{"type errors", `listen: [a, b]
limits:
  messageBytes: lots
  frameBytes: [1]
  idleTimeout: 600
  pingInterval: 10 minutes
  allowBinary: yes
  concurrencyPerConnection: 2.5
routes: [a]
stageVariables: {a: {b: c}}
`, []string{
		"t.yaml:1: listen: expected a string, got a list",
		"t.yaml:3: limits.messageBytes: \"lots\" is not a size; write a whole number of bytes (131072) or one with a unit: 128KB, 1MB",
		"t.yaml:4: limits.frameBytes: expected a size such as 131072, 128KB or 1MB, got a list",
		"t.yaml:5: limits.idleTimeout: \"600\" has no unit; write 600s (seconds) or 600ms (milliseconds)",
		"t.yaml:6: limits.pingInterval: \"10 minutes\" is not a duration; write a number and a unit such as 29s, 500ms, 10m or 2h",
		"t.yaml:7: limits.allowBinary: expected true or false, got \"yes\"",
		"t.yaml:8: limits.concurrencyPerConnection: expected a whole number such as 4, got \"2.5\"",
		"t.yaml:9: routes: expected a mapping such as NAME: {integration: ...}, got a list",
		"t.yaml:10: stageVariables.a: expected a string, got a mapping",
	}},
	{"env errors", `stage: ${STAGE}
listen: ${EMPTY:-127.0.0.1:1}
apiId: ${FOO:?required}
region: ${REGION:-us-east-1
`, []string{
		"t.yaml:1: stage: environment variable STAGE is not set; set it, give a default with ${STAGE:-value}, or write $${STAGE} for a literal ${STAGE}",
		"t.yaml:3: apiId: ${FOO:?r... is not supported; write ${FOO} or ${FOO:-default} (or $${ for a literal ${)",
		"t.yaml:4: region: ${REGION:-... has no closing }; write ${REGION:-default}",
	}},
	{"env error in template", `integrations:
  m:
    type: MOCK
    requestTemplates:
      $default: |
        #set($x = 1)
        ${x}
`, []string{
		"t.yaml:5: integrations.m.requestTemplates.$default: environment variable x is not set; set it, give a default with ${x:-value}, or write $${x} for a literal ${x}",
	}},
	{"yaml syntax", `routes:
  $default: {integration: [
`, []string{
		"t.yaml:2: YAML syntax: did not find expected node content",
	}},
	{"empty file", ``, []string{
		"t.yaml: the file is empty (or only comments): a config needs at least routes:; 'wsgate config example' prints a complete one",
	}},
	{"only comments", "# nothing yet\n\n", []string{
		"t.yaml: the file is empty (or only comments): a config needs at least routes:; 'wsgate config example' prints a complete one",
	}},
	// yaml.v3 reports this at line 5 (where integrations: began); the fault is line 11.
	{"yaml syntax at the fault's line", `stage: dev
routes:
  $connect: { integration: app }
  $default: { integration: app }
integrations:
  app:
    type: HTTP_PROXY
    uri: http://127.0.0.1:3000/ws
    requestParameters:
      integration.request.header.x: context.connectionId
   method: POST
limits:
  messageBytes: 128KB
`, []string{
		"t.yaml:11: YAML syntax: did not find expected key; check this line's indentation: a key lines up with the keys of its mapping (the same number of spaces), one level deeper than its parent",
	}},
	// yaml.v3 reports an unclosed flow mapping at the line before it (8); the { is on line 9.
	{"unclosed flow mapping", `stage: dev
routes:
  $default:
    integration: h
integrations:
  h:
    type: HTTP_PROXY
    uri: http://x/
  k: {type: MOCK  # a comment with a { in it
    uri: 3
limits:
  idleTimeout: 1m
`, []string{
		"t.yaml:9: YAML syntax: did not find expected ',' or '}'; a { opened on this line is not closed: end the mapping with } on this line, separate its entries with commas, or write it in block style (key: value on lines of their own)",
	}},
	{"unclosed flow list", `routes:
  $default: { integration: h }
integrations:
  h: { type: HTTP_PROXY, uri: "http://x/{a}" }
authorizers:
  a: { type: JWT, identitySource: [route.request.header.A, secret: s }
`, []string{
		"t.yaml:6: YAML syntax: did not find expected ',' or ']'; a [ opened on this line is not closed: end the list with ] on this line, separate its items with commas, or write it in block style (- item on lines of their own)",
	}},
	{"what serve builds", `routeSelectionExpression: $request.body.
routes:
  $connect: { integration: app }
  $default: { integration: tmpl }
integrations:
  app: { type: HTTP_PROXY, uri: "http://127.0.0.1:30x0/ws" }
  tmpl:
    type: HTTP
    uri: "https://<your-url-domain>/api/dotnetify/vm"
    templateSelectionExpression: "${request.body"
    requestTemplates:
      $default: "#if("
`, []string{
		"t.yaml:1: routeSelectionExpression: selection expression \"$request.body.\": $request.body.: empty key at offset 0: write .name or ['name']; write e.g. $request.body.action",
		"t.yaml:6: integrations.app.uri: \"http://127.0.0.1:30x0/ws\" has the port \"30x0\", which is not a number from 1 to 65535; write e.g. http://127.0.0.1:3000/ws",
		"t.yaml:9: integrations.tmpl.uri: \"https://<your-url-domain>/api/dotnetify/vm\" has the placeholder <your-url-domain>: replace it with the real value (the backend's host and port); write e.g. http://127.0.0.1:3000/ws",
		"t.yaml:10: integrations.tmpl.templateSelectionExpression: selection expression \"${request.body\": at offset 0: \"${\" has no closing \"}\": write ${request.body.action}; write e.g. \\$default or ${request.body.type}",
		"t.yaml:12: integrations.tmpl.requestTemplates.$default: the template does not parse: template 1:5: expected a value (a $reference, 'string', number, true, false, [list] or {map}) but the template ended",
	}},
	{"yaml tab", `stage: dev
	listen: x
`, []string{
		"t.yaml:2: YAML syntax: found a tab character that violates indentation",
	}},
	{"duplicate keys", `stage: a
stage: b
routes:
  x: {}
  x: {}
`, []string{
		"t.yaml:2: stage: duplicate key (first at line 1); keep one",
		"t.yaml:5: routes.x: duplicate key (first at line 4); keep one",
	}},
	{"second document", `stage: a
---
stage: b
`, []string{
		"t.yaml:2: YAML syntax: a second YAML document (---) follows; a config file holds one document",
	}},
	{"cloudformation tag", `stage: !Ref Stage
`, []string{
		"t.yaml:1: stage: YAML tag !Ref is not supported (CloudFormation functions are not evaluated); write the value itself, use ${ENV_VAR}, or convert the template with `wsgate import`",
	}},
	{"not a mapping", `- a
- b
`, []string{
		"t.yaml:1: expected a mapping with keys such as listen: ..., got a list",
	}},
	{"tls modes", `tls: {mode: plain}
`, []string{
		"t.yaml:1: tls.mode: \"plain\": write auto (TLS with certFile/keyFile or the local CA, plus plain text) or off (plain text only)",
	}},
	{"tls off with a certificate", `tls: {mode: off, certFile: c.pem, keyFile: k.pem}
`, []string{
		"t.yaml:1: tls.mode: off serves plain text only; remove certFile, keyFile, caFile and requireTLS, or remove mode: off",
	}},
	{"tls caFile without certFile", `tls: {caFile: ca.pem}
`, []string{
		"t.yaml:1: tls.caFile: goes with tls.certFile (the CA that issued it); the local CA needs none",
	}},
	{"bad top-level values", `stage: "dev/1"
listen: "8080"
apiId: "a b"
region: US
accountId: 12345
domainName: https://x.example.com/
admin: {listen: "127.0.0.1:99999"}
log: {level: verbose, format: xml}
shutdown: {gracePeriod: -1s}
tls: {certFile: a.pem}
stageVariables: {"bad-name": x}
`, []string{
		"t.yaml:1: stage: \"dev/1\" is not a stage name; use 1 to 128 letters, digits, - or _ (it is the first path segment: ws://HOST/dev)",
		"t.yaml:2: listen: \"8080\" is not host:port; write e.g. 127.0.0.1:8080, or :8080 for every interface",
		"t.yaml:3: apiId: \"a b\" is not an API id; use letters, digits, ., - or _ (it goes into requestContext.apiId and the methodArn)",
		"t.yaml:4: region: \"US\" is not an AWS region; write one such as us-east-1",
		"t.yaml:5: accountId: \"12345\" is not an AWS account id; write 12 digits in quotes, e.g. \"123456789012\"",
		"t.yaml:6: domainName: \"https://x.example.com/\": write the host name only, e.g. ws.example.com (no scheme or path)",
		"t.yaml:7: admin.listen: \"127.0.0.1:99999\": port \"99999\" is not a number from 0 to 65535",
		"t.yaml:8: log.format: \"xml\" is not a log format; write text or json (or leave it out: text on a terminal, json otherwise)",
		"t.yaml:8: log.level: \"verbose\" is not a log level; write debug, info, warn or error",
		"t.yaml:9: shutdown.gracePeriod: must not be negative; write e.g. 10s",
		"t.yaml:10: tls.keyFile: required with tls.certFile; write the path of the PEM private key",
		"t.yaml:11: stageVariables.bad-name: \"bad-name\" is not a stage variable name; use letters, digits and _",
	}},
	{"routes", `routes:
  $conect: {integration: app}
  $dollar: {}
  $connect: {integration: ap}
  $disconnect: {integration: app, routeResponse: true}
  $default: {authorizer: jwt, routeResponse: true}
  send: {integration: http, routeResponse: true}
integrations:
  app: {type: MOCK}
  http: {type: HTTP, uri: "http://x/"}
`, []string{
		"t.yaml:2: routes.$conect: not a route key; did you mean $connect?",
		"t.yaml:3: routes.$dollar: not a route key; the reserved keys are $connect, $disconnect and $default, and a custom key must not start with $",
		"t.yaml:4: routes.$connect.integration: no integration named \"ap\"; did you mean app?",
		"t.yaml:5: routes.$disconnect.routeResponse: the socket is already closed when $disconnect runs, so nothing can be sent back; remove routeResponse",
		"t.yaml:6: routes.$default.authorizer: only $connect can have an authorizer (it guards the whole connection); move it to routes.$connect",
		"t.yaml:6: routes.$default.routeResponse: a route response sends the integration's answer back, but the route has no integration; set integration or remove routeResponse",
		"t.yaml:7: routes.send.routeResponse: integration \"http\" is HTTP, which answers only through its responses, and it has none; add `responses: {$default: {}}` to integrations.http to send the backend's answer back unchanged",
	}},
	{"route authorizer missing", `routes:
  $connect: {authorizer: jtw}
authorizers:
  jwt: {type: JWT, secret: x}
`, []string{
		"t.yaml:2: routes.$connect.authorizer: no authorizer named \"jtw\"; did you mean jwt?",
	}},
	{"integrations", `integrations:
  none: {uri: "http://x/"}
  lower: {type: http_proxy, uri: "http://x/"}
  bad: {type: HTTP_PROXY, uri: "htp://x", method: post, timeout: 30s, passthroughBehavior: WHEN_NO_MATCHES}
  nouri: {type: HTTP}
  nohost: {type: HTTP, uri: "http:///x", timeout: 10ms}
  sv: {type: HTTP_PROXY, uri: "${stageVariables.backend}/x"}
  lam: {type: AWS_PROXY, uri: "arn:aws:lambda:us-east-1:1234:function:x", endpoint: "localhost:9000"}
  lam2: {type: AWS_PROXY}
  svc: {type: AWS, uri: "arn:aws:apigateway:us-east-1:glacier:action/UploadArchive"}
  mock: {type: MOCK, uri: "http://x/", endpoint: "http://x/", standin: "http://y/"}
  px: {type: HTTP_PROXY, uri: "http://x/", requestTemplates: {a: b}, templateSelectionExpression: x, responses: {$default: {}}}
`, []string{
		"t.yaml:2: integrations.none.type: required; write one of HTTP_PROXY, HTTP, AWS_PROXY, AWS, MOCK",
		"t.yaml:3: integrations.lower.type: \"http_proxy\" is not an integration type; did you mean HTTP_PROXY? (one of HTTP_PROXY, HTTP, AWS_PROXY, AWS, MOCK)",
		"t.yaml:4: integrations.bad.method: \"post\" is not an HTTP method; write it in capitals: POST (one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)",
		"t.yaml:4: integrations.bad.passthroughBehavior: \"WHEN_NO_MATCHES\" is not a passthrough behavior; did you mean WHEN_NO_MATCH? (one of WHEN_NO_MATCH, WHEN_NO_TEMPLATES, NEVER)",
		"t.yaml:4: integrations.bad.timeout: 30s is out of range; AWS allows 50ms to 29s",
		"t.yaml:4: integrations.bad.uri: \"htp://x\" is not an http:// or https:// URL; write e.g. http://127.0.0.1:3000/ws",
		"t.yaml:5: integrations.nouri.uri: required for HTTP integrations; write the backend URL, e.g. http://127.0.0.1:3000/ws",
		"t.yaml:6: integrations.nohost.timeout: 10ms is out of range; AWS allows 50ms to 29s",
		"t.yaml:6: integrations.nohost.uri: \"http:///x\" has no host; write e.g. http://127.0.0.1:3000/ws",
		"t.yaml:7: integrations.sv.uri: stage variable \"backend\" is not defined; add it under stageVariables:",
		"t.yaml:8: integrations.lam.endpoint: \"localhost:9000\" is not an http:// or https:// URL; write e.g. http://127.0.0.1:9000 (a Lambda Invoke API emulator)",
		"t.yaml:8: integrations.lam.uri: \"arn:aws:lambda:us-east-1:1234:function:x\" is not a Lambda function; write a function name (my-function), a function ARN (arn:aws:lambda:us-east-1:123456789012:function:my-function) or an API Gateway invocation URI",
		"t.yaml:9: integrations.lam2.uri: required for AWS_PROXY integrations; write a function name (my-function), a function ARN (arn:aws:lambda:us-east-1:123456789012:function:my-function) or an API Gateway invocation URI",
		"t.yaml:10: integrations.svc.uri: uri \"arn:aws:apigateway:us-east-1:glacier:action/UploadArchive\": service \"glacier\" is not supported: wsgate calls dynamodb, events, firehose, kinesis, lambda, logs, s3, sns, sqs, states (or set standin: to an HTTP URL that performs the action)",
		"t.yaml:11: integrations.mock.endpoint: only used by AWS_PROXY integrations; remove it",
		"t.yaml:11: integrations.mock.standin: only used by AWS integrations; remove it",
		"t.yaml:11: integrations.mock.uri: a MOCK integration calls no backend; remove uri",
		"t.yaml:12: integrations.px.requestTemplates: HTTP_PROXY integrations pass messages and answers through unchanged; templates and responses apply to HTTP, AWS and MOCK integrations only. Remove it, or use type HTTP",
		"t.yaml:12: integrations.px.responses: HTTP_PROXY integrations pass messages and answers through unchanged; templates and responses apply to HTTP, AWS and MOCK integrations only. Remove it, or use type HTTP",
		"t.yaml:12: integrations.px.templateSelectionExpression: HTTP_PROXY integrations pass messages and answers through unchanged; templates and responses apply to HTTP, AWS and MOCK integrations only. Remove it, or use type HTTP",
	}},
	{"request parameters and responses", `stageVariables: {fn: x}
integrations:
  h:
    type: HTTP
    uri: http://x/
    requestParameters:
      integration.request.path.id: context.connectionId
      integration.request.header.connectionId: $context.connectionId
      method.request.header.x: "'a'"
      integration.request.header.: context.x
      integration.request.querystring.q: route.request.body.
      integration.request.header.a: stageVariables.fm
      integration.request.header.b: connectionId
      integration.request.header.c: context.
    responses:
      "200": {}
      /[/: {}
  l: {type: AWS_PROXY, uri: fn, requestParameters: {integration.request.header.a: "'x'"}}
`, []string{
		"t.yaml:7: integrations.h.requestParameters[\"integration.request.path.id\"]: path parameters are not supported on WebSocket APIs; map to integration.request.header.NAME or integration.request.querystring.NAME",
		"t.yaml:8: integrations.h.requestParameters[\"integration.request.header.connectionId\"]: \"$context.connectionId\": write the source without the leading $, e.g. context.connectionId",
		"t.yaml:9: integrations.h.requestParameters[\"method.request.header.x\"]: not a request parameter target; write integration.request.header.NAME or integration.request.querystring.NAME",
		"t.yaml:10: integrations.h.requestParameters[\"integration.request.header.\"]: names nothing; write integration.request.header.NAME",
		"t.yaml:11: integrations.h.requestParameters[\"integration.request.querystring.q\"]: \"route.request.body.\" names nothing; write route.request.body.PATH",
		"t.yaml:12: integrations.h.requestParameters[\"integration.request.header.a\"]: stage variable \"fm\" is not defined; did you mean fn?",
		"t.yaml:13: integrations.h.requestParameters[\"integration.request.header.b\"]: \"connectionId\" is not a request parameter source; write context.NAME, route.request.header.NAME, route.request.querystring.NAME, route.request.body.PATH, stageVariables.NAME or 'a literal' in single quotes",
		"t.yaml:14: integrations.h.requestParameters[\"integration.request.header.c\"]: \"context.\" is not a $context variable; write e.g. context.connectionId",
		"t.yaml:16: integrations.h.responses.200: not a response key; write $default, or a /regex/ matched against the status code such as /2\\d\\d/",
		"t.yaml:17: integrations.h.responses[\"/[/\"]: the regex does not compile: missing closing ]: `[`",
		"t.yaml:18: integrations.l.requestParameters: only used by HTTP, HTTP_PROXY and AWS integrations; remove it",
	}},
	{"authorizers", `authorizers:
  none: {}
  bad: {type: jwt}
  both: {type: JWT, secret: a, jwksUrl: "https://x/jwks", identitySource: [$request.header.Authorization, method.request.header.X, route.request.header.]}
  neither: {type: JWT}
  algs: {type: JWT, secret: a, algorithms: [none, HS265, RS256], leeway: -1s, resultTtl: 1m, uri: http://x/}
  keys: {type: JWT, jwksUrl: "ftp://x/jwks", algorithms: [HS256]}
  req: {type: REQUEST, secret: a, integrationType: AWS, timeout: 1m, resultTtl: 2h, allowMissingExp: true}
  req2: {type: REQUEST, integrationType: HTTP, endpoint: "http://x/"}
  req3: {type: REQUEST, uri: "not a lambda"}
`, []string{
		"t.yaml:2: authorizers.none.type: required; write JWT (tokens checked in-process) or REQUEST (a Lambda or HTTP function decides)",
		"t.yaml:3: authorizers.bad.type: \"jwt\" is not an authorizer type; did you mean JWT?",
		"t.yaml:4: authorizers.both.identitySource[0]: \"$request.header.Authorization\" is not an identity source (that is the HTTP API form); write route.request.header.Authorization",
		"t.yaml:4: authorizers.both.identitySource[1]: \"method.request.header.X\" is not an identity source (that is the REST API form); write route.request.header.X",
		"t.yaml:4: authorizers.both.identitySource[2]: \"route.request.header.\" names nothing; write route.request.header.NAME",
		"t.yaml:4: authorizers.both.jwksUrl: set secret or jwksUrl, not both: one authorizer checks one kind of key",
		"t.yaml:5: authorizers.neither: a JWT authorizer needs secret (for HS256/384/512) or jwksUrl (for RS*, ES*, PS*, EdDSA)",
		"t.yaml:6: authorizers.algs.algorithms[0]: unsigned tokens are never accepted; remove none",
		"t.yaml:6: authorizers.algs.algorithms[1]: \"HS265\" is not a supported algorithm; did you mean HS256? (one of HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512, EdDSA)",
		"t.yaml:6: authorizers.algs.algorithms[2]: RS256 verifies with a public key; set jwksUrl, or remove RS256",
		"t.yaml:6: authorizers.algs.leeway: must not be negative; write e.g. 30s",
		"t.yaml:6: authorizers.algs.uri: not used by JWT authorizers; remove it",
		"t.yaml:7: authorizers.keys.algorithms[0]: HS256 verifies with a shared secret; set secret, or remove HS256",
		"t.yaml:7: authorizers.keys.jwksUrl: \"ftp://x/jwks\" is not an http:// or https:// URL; write e.g. https://issuer.example.com/.well-known/jwks.json",
		"t.yaml:8: authorizers.req.allowMissingExp: not used by REQUEST authorizers; remove it",
		"t.yaml:8: authorizers.req.integrationType: \"AWS\" is not supported; write AWS_PROXY (a Lambda function) or HTTP (a URL)",
		"t.yaml:8: authorizers.req.resultTtl: 2h0m0s is out of range; write 0 (no caching, as AWS) up to 1h",
		"t.yaml:8: authorizers.req.secret: not used by REQUEST authorizers; remove it",
		"t.yaml:8: authorizers.req.timeout: 1m0s is out of range; AWS allows 50ms to 29s",
		"t.yaml:9: authorizers.req2.endpoint: only used with integrationType AWS_PROXY; remove it",
		"t.yaml:9: authorizers.req2.uri: required; write the URL the authorizer event is POSTed to, e.g. http://127.0.0.1:3000/authorize",
		"t.yaml:10: authorizers.req3.uri: \"not a lambda\" is not a Lambda function; write a function name (my-function), a function ARN (arn:aws:lambda:us-east-1:123456789012:function:my-function) or an API Gateway invocation URI",
	}},
	{"management, limits, store", `management:
  credentials:
    - {accessKeyId: a}
    - {accessKeyId: a, secretAccessKey: b}
    - {secretAccessKey: c}
limits:
  messageBytes: 32KB
  frameBytes: 64KB
  sendQueueBytes: 16KB
  idleTimeout: -1s
  concurrencyPerConnection: -1
store: {type: redis, url: "http://user:pw@x:6379", nodeLeaseTtl: 100ms, nodeId: "a b", prefix: "x y"}
`, []string{
		"t.yaml:3: management.credentials[0].secretAccessKey: required; write the secret, e.g. \"${WSGATE_SECRET_ACCESS_KEY}\"",
		"t.yaml:4: management.credentials[1].accessKeyId: the same access key id as credentials[0]; each key id must be unique",
		"t.yaml:5: management.credentials[2].accessKeyId: required; write the access key id SDK clients sign with, e.g. \"${WSGATE_ACCESS_KEY_ID}\"",
		"t.yaml:8: limits.frameBytes: 64KB is larger than messageBytes (32KB); a frame is part of a message, so make frameBytes at most messageBytes",
		"t.yaml:9: limits.sendQueueBytes: 16KB is smaller than messageBytes (32KB); the send queue must hold at least one full message",
		"t.yaml:10: limits.idleTimeout: must be positive; write e.g. 30s",
		"t.yaml:11: limits.concurrencyPerConnection: -1 is out of range; write 1 (messages of a connection in order) up to 1000",
		"t.yaml:12: store.nodeId: \"a b\": use letters, digits, ., :, - or _ (at most 128)",
		"t.yaml:12: store.nodeLeaseTtl: 100ms is too short; write at least 1s (default 10s)",
		"t.yaml:12: store.prefix: \"x y\": a key prefix must not contain spaces or braces",
		"t.yaml:12: store.url: \"http://user:xxxxx@x:6379\" is not a Redis URL; write redis://HOST:6379/0, rediss://HOST:6379/0 or unix:///path/redis.sock",
	}},
	{"store variants", `store: {type: mem, url: "redis://x"}
`, []string{
		"t.yaml:1: store.type: \"mem\" is not a store type; write memory (one node) or redis (several nodes)",
	}},
	{"store redis no url", `store: {type: redis}
`, []string{
		"t.yaml:1: store.url: required for store type redis; write e.g. redis://127.0.0.1:6379/0 (rediss:// for TLS, unix:///path/redis.sock)",
	}},
	{"store memory with url", `store: {url: "redis://x:1"}
`, []string{
		"t.yaml:1: store.url: only used by store type redis; remove it, or set type: redis",
	}},
}

func TestParseBad(t *testing.T) {
	for _, tc := range badCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseT(tc.src)
			got := messages(t, err)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "wsgate.yaml")
	if err := os.WriteFile(p, []byte("stage: prod\nlisten: \":8443\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Stage != "prod" || c.Listen != ":8443" || c.File() != p || c.Line("listen") != 2 {
		t.Errorf("Load = stage %q listen %q file %q line %d", c.Stage, c.Listen, c.File(), c.Line("listen"))
	}

	if err := os.WriteFile(p, []byte("stage: prod\nroutes:\n  $default: {integration: nope}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p)
	want := p + `:3: routes.$default.integration: no integration named "nope"; define it under integrations:`
	if got := strings.Join(messages(t, err), "\n"); got != want {
		t.Errorf("Load error:\n%s\nwant:\n%s", got, want)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if got := messages(t, err); len(got) != 1 || !strings.Contains(got[0], "missing.yaml: cannot read config: no such file or directory") {
		t.Errorf("missing file: %q", got)
	}
}
