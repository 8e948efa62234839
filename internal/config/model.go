// Package config is wsgate's configuration: the model (in AWS's vocabulary, so a user who knows
// API Gateway maps it at sight), YAML loading with ${ENV} expansion, defaults, and validation
// whose every error names the file, line and key path and says what to write instead.
package config

import "time"

// Defaults. Each tunable's default sits next to it here so that docs, `config example` and
// validation agree.
const (
	DefaultListen                   = "127.0.0.1:8080"
	DefaultStage                    = "dev"
	DefaultAPIID                    = "wsgate"
	DefaultRegion                   = "us-east-1"
	DefaultAccountID                = "000000000000"
	DefaultRouteSelectionExpression = "$request.body.action"
	DefaultIntegrationTimeout       = 29 * time.Second
	MinIntegrationTimeout           = 50 * time.Millisecond
	MaxIntegrationTimeout           = 29 * time.Second
	DefaultMessageBytes             = 128 * 1024
	DefaultFrameBytes               = 32 * 1024
	DefaultIdleTimeout              = 10 * time.Minute
	DefaultMaxConnectionDuration    = 2 * time.Hour
	DefaultPingInterval             = 30 * time.Second
	DefaultSendQueueBytes           = 1 << 20
	DefaultHandshakeTimeout         = 35 * time.Second
	// DefaultHandshakeHeaderBytes caps the header lines of an upgrade request (16 KB, Node.js's
	// default; above the 10,240 bytes API Gateway allows REST requests, so cookie-heavy browser
	// handshakes pass) and DefaultHandshakeHeaders their number (100, Apache's
	// LimitRequestFields; a browser sends 15 to 25).
	DefaultHandshakeHeaderBytes     = 16 * 1024
	DefaultHandshakeHeaders         = 100
	DefaultShutdownGrace            = 10 * time.Second
	DefaultConcurrencyPerConnection = 1
	// InboundQueueMessages is inboundQueueBytes's default in messages of messageBytes: queued
	// for integrations per connection before wsgate stops reading it (512KB by default).
	InboundQueueMessages          = 4
	DefaultInboundStallTimeout    = 10 * time.Second
	DefaultControlFramesPerSecond = 10
	DefaultMaxInflightCalls       = 1000
	// DefaultSocketSendBufferBytes is SO_SNDBUF of accepted sockets (Linux doubles it for its
	// bookkeeping): a client that stops reading is closed after about sendQueueBytes plus this.
	DefaultSocketSendBufferBytes = 32 * 1024
	DefaultAuthorizerLeeway      = 30 * time.Second
	DefaultNodeLeaseTTL          = 10 * time.Second
	DefaultStoreType             = "memory"
	DefaultStorePrefix           = "wsgate"
	DefaultLogLevel              = "info"
	DefaultIntegrationMethod     = "POST"
	DefaultPassthroughBehavior   = WhenNoMatch
	// DefaultAuthorizerTimeout bounds a REQUEST authorizer call (AWS gives authorizers the
	// integration limits, 50ms..29s).
	DefaultAuthorizerTimeout = DefaultIntegrationTimeout
	// DefaultIdentitySource is where authorizers look for the token when identitySource is not
	// set (CDK's default for REQUEST authorizers).
	DefaultIdentitySource = "route.request.header.Authorization"
	// DefaultREQUESTIntegrationType: REQUEST authorizers are Lambda functions on AWS.
	DefaultREQUESTIntegrationType = AWSProxy
	// MaxAuthorizerResultTTL is the longest resultTtl accepted (AWS's bound for HTTP APIs).
	MaxAuthorizerResultTTL = time.Hour
	// MaxTemplateBytes is AWS's mapping template size limit.
	MaxTemplateBytes = 300 * 1024
	MinNodeLeaseTTL  = time.Second
)

// Config is the whole gateway configuration. Zero values mean "use the default"; Load fills
// them in (see ApplyDefaults).
type Config struct {
	// Listen is the address of the one listener that serves WebSocket upgrades and the
	// management API (as AWS's connection URL is https://{api}/{stage}/@connections/{id}).
	Listen string `yaml:"listen,omitempty"`
	// Stage is the first path segment clients connect to: ws://HOST/{stage}[/any/path].
	Stage string `yaml:"stage,omitempty"`
	// APIID, DomainName, Region and AccountID fill the event's requestContext and methodArn.
	// DomainName defaults to the Host header of the upgrade request.
	APIID      string `yaml:"apiId,omitempty"`
	DomainName string `yaml:"domainName,omitempty"`
	Region     string `yaml:"region,omitempty"`
	AccountID  string `yaml:"accountId,omitempty"`

	// TLS: nil is the default, tls.mode auto.
	TLS   *TLS  `yaml:"tls,omitempty"`
	State State `yaml:"state,omitempty"`

	// RouteSelectionExpression picks a route for each message: $request.body.action, nested
	// paths ($request.body.meta.type), ${...} mixed with text, or a literal.
	RouteSelectionExpression string            `yaml:"routeSelectionExpression,omitempty"`
	StageVariables           map[string]string `yaml:"stageVariables,omitempty"`

	// Routes by route key: $connect, $disconnect, $default, or a custom key.
	Routes       map[string]Route       `yaml:"routes,omitempty"`
	Integrations map[string]Integration `yaml:"integrations,omitempty"`
	Authorizers  map[string]Authorizer  `yaml:"authorizers,omitempty"`
	// Functions are Lambda functions wsgate runs itself (docs/functions.md): an AWS_PROXY
	// integration or REQUEST authorizer whose uri names one (and sets no endpoint) invokes it
	// here instead of calling the Lambda Invoke API.
	Functions map[string]Function `yaml:"functions,omitempty"`

	// AWS says where AWS service integrations send their calls.
	AWS AWSSettings `yaml:"aws,omitempty"`

	Management Management `yaml:"management,omitempty"`
	Limits     Limits     `yaml:"limits,omitempty"`
	Shutdown   Shutdown   `yaml:"shutdown,omitempty"`
	Store      Store      `yaml:"store,omitempty"`
	Admin      Admin      `yaml:"admin,omitempty"`
	Log        Log        `yaml:"log,omitempty"`

	file  string         // where it was loaded from, for messages
	lines map[string]int // key path -> line, for messages after loading
}

// TLS modes.
const (
	// TLSAuto (the default): a certificate from wsgate's local CA, kept in state.dir, unless
	// certFile and keyFile are given.
	TLSAuto = "auto"
	// TLSOff: plain text only (ws://, http://), for TLS terminated in front of wsgate.
	TLSOff = "off"
)

// TLS is how the listener serves wss:// and https://. The same port serves plain text too:
// each connection's first byte says which it is.
type TLS struct {
	// Mode is auto (default) or off (plain text only).
	Mode string `yaml:"mode,omitempty"`
	// CertFile and KeyFile are a PEM certificate (chain) and its key to serve instead of one
	// from the local CA.
	CertFile string `yaml:"certFile,omitempty"`
	KeyFile  string `yaml:"keyFile,omitempty"`
	// CAFile is the PEM of the CA that issued CertFile when clients do not trust it already
	// (a private CA): functions are given it, and the start-up log names it.
	CAFile string `yaml:"caFile,omitempty"`
	// RequireTLS refuses plain-text clients on the port (they get a 400 and a log line).
	RequireTLS bool `yaml:"requireTLS,omitempty"`
}

// State is where wsgate keeps what must survive a restart (the local CA).
type State struct {
	// Dir defaults to $WSGATE_STATE_DIR, systemd's $STATE_DIRECTORY, $XDG_STATE_HOME/wsgate
	// or ~/.local/state/wsgate, in that order.
	Dir string `yaml:"dir,omitempty"`
}

// Route binds a route key to an integration.
type Route struct {
	// Integration names an entry of Config.Integrations. Empty: the route is accepted and
	// nothing is called (AWS allows a $connect without integration).
	Integration string `yaml:"integration,omitempty"`
	// Authorizer names an entry of Config.Authorizers; only on $connect, as on AWS.
	Authorizer string `yaml:"authorizer,omitempty"`
	// RouteResponse makes the route two-way: the integration's answer is sent back on the socket.
	RouteResponse bool `yaml:"routeResponse,omitempty"`
}

// Integration types, as AWS spells them.
const (
	HTTPProxy = "HTTP_PROXY"
	HTTP      = "HTTP"
	AWSProxy  = "AWS_PROXY"
	AWS       = "AWS"
	Mock      = "MOCK"
)

// Passthrough behaviours for non-proxy integrations when no request template matches.
const (
	WhenNoMatch     = "WHEN_NO_MATCH"
	WhenNoTemplates = "WHEN_NO_TEMPLATES"
	Never           = "NEVER"
)

// Integration is a backend a route calls.
type Integration struct {
	Type string `yaml:"type,omitempty"`
	// URI: for HTTP and HTTP_PROXY an http(s) URL (stage variables ${stageVariables.x} resolve);
	// for AWS_PROXY the Lambda function name or ARN; for AWS the service action as API Gateway
	// writes it: arn:aws:apigateway:{region}:{service}:action/{Action} or ...:path/{path}.
	URI    string `yaml:"uri,omitempty"`
	Method string `yaml:"method,omitempty"` // default POST
	// Endpoint, for AWS_PROXY: base URL of a Lambda Invoke API (a local emulator such as the
	// Runtime Interface Emulator); empty means real AWS Lambda, signed with SigV4 by the AWS SDK.
	Endpoint string `yaml:"endpoint,omitempty"`
	// Standin, for AWS service integrations: an HTTP URL that receives the rendered request
	// template instead of the service (the fallback for services with no emulator at hand).
	Standin string `yaml:"standin,omitempty"`
	// CredentialsARN, for AWS: the role API Gateway would assume (CredentialsArn). wsgate
	// assumes it through STS when calling real AWS with credentials that allow it, and otherwise
	// signs with its own credentials (saying so once in the log).
	CredentialsARN string `yaml:"credentialsArn,omitempty"`
	Region         string `yaml:"region,omitempty"`
	// Timeout: AWS allows 50ms..29s, default 29s.
	Timeout Duration `yaml:"timeout,omitempty"`

	// RequestParameters maps targets (integration.request.header.X, .querystring.X) to sources
	// (context.X, route.request.header.X, route.request.querystring.X, route.request.body.X,
	// stageVariables.X, 'static').
	RequestParameters           map[string]string `yaml:"requestParameters,omitempty"`
	RequestTemplates            map[string]string `yaml:"requestTemplates,omitempty"`
	TemplateSelectionExpression string            `yaml:"templateSelectionExpression,omitempty"`
	PassthroughBehavior         string            `yaml:"passthroughBehavior,omitempty"`
	// Responses are the integration responses of non-proxy integrations (HTTP, AWS, MOCK), keyed
	// by $default or a /regex/ matched against the status code.
	Responses map[string]IntegrationResponse `yaml:"responses,omitempty"`
}

// IntegrationResponse transforms a non-proxy integration's answer.
type IntegrationResponse struct {
	TemplateSelectionExpression string            `yaml:"templateSelectionExpression,omitempty"`
	Templates                   map[string]string `yaml:"templates,omitempty"`
}

// Authorizer types.
const (
	JWT     = "JWT"
	Request = "REQUEST"
)

// Authorizer guards $connect.
type Authorizer struct {
	Type string `yaml:"type,omitempty"`
	// IdentitySource lists where the identity comes from: route.request.header.X,
	// route.request.querystring.X, stageVariables.X, context.X. A missing one is a 401 without
	// calling the authorizer.
	IdentitySource StringList `yaml:"identitySource,omitempty"`

	// JWT: Secret for HS256/384/512, or JWKSURL for RS*/ES*/PS*.
	Secret      string     `yaml:"secret,omitempty"`
	JWKSURL     string     `yaml:"jwksUrl,omitempty"`
	Issuer      string     `yaml:"issuer,omitempty"`
	Audience    StringList `yaml:"audience,omitempty"`
	Algorithms  StringList `yaml:"algorithms,omitempty"`
	Leeway      Duration   `yaml:"leeway,omitempty"`
	UserIDClaim string     `yaml:"userIdClaim,omitempty"`
	// AllowMissingExp admits JWTs without an exp claim (tokens that never expire, as some apps
	// issue). Off by default: like API Gateway's JWT authorizer, a token without exp is refused.
	// An exp that is present is always checked.
	AllowMissingExp bool `yaml:"allowMissingExp,omitempty"`

	// REQUEST: the authorizer function, called like an integration: Type AWS_PROXY (Lambda
	// Invoke API at Endpoint, or real AWS Lambda) or HTTP (POST of the authorizer event to URI).
	IntegrationType string   `yaml:"integrationType,omitempty"`
	URI             string   `yaml:"uri,omitempty"`
	Endpoint        string   `yaml:"endpoint,omitempty"`
	Timeout         Duration `yaml:"timeout,omitempty"`
	// ResultTTL caches results per identity source (0 = off, AWS parity; max 1h).
	ResultTTL Duration `yaml:"resultTtl,omitempty"`
}

// AWSSettings configures the calls of AWS service integrations (type AWS).
type AWSSettings struct {
	// Endpoints maps a service, as integration URIs name it (dynamodb, states, sqs, sns,
	// events, kinesis, logs...) or "default" for every service, to a base URL such as a local
	// emulator's (http://127.0.0.1:4567). They win over AWS_ENDPOINT_URL_<SERVICE> and
	// AWS_ENDPOINT_URL, which the AWS SDKs' convention also honours; a service with neither is
	// called on AWS.
	Endpoints map[string]string `yaml:"endpoints,omitempty"`
}

// Function is a Lambda function run by wsgate on this machine, through the Lambda Runtime API.
type Function struct {
	// Runtime is a Lambda runtime identifier: nodejsNN.x and python3.N (run on the local node
	// and python3), provided.al2023, provided.al2 and go1.x (a bootstrap executable).
	Runtime string `yaml:"runtime,omitempty"`
	// Handler as Lambda takes it: src/app.handler (Node), app.lambda_handler (Python), the
	// executable's name (go1.x); unused by provided.*.
	Handler string `yaml:"handler,omitempty"`
	// CodeURI is the code: a directory or a .zip file, relative to the config file's directory.
	CodeURI string `yaml:"codeUri,omitempty"`
	// InlineCode is the function's source written in the config (CloudFormation's
	// Code.ZipFile / SAM's InlineCode): index.js for Node, index.py for Python.
	InlineCode string `yaml:"inlineCode,omitempty"`
	// BuildMethod go1.x builds a provided.* function's bootstrap from the Go sources in codeUri
	// with go build (SAM's Metadata.BuildMethod), again after each code change.
	BuildMethod string `yaml:"buildMethod,omitempty"`
	// Timeout per invocation, 1s to 900s (Lambda's range); default 3s.
	Timeout Duration `yaml:"timeout,omitempty"`
	// MemorySize in MB, 128 to 10240; reported to the function, not enforced. Default 128.
	MemorySize int `yaml:"memorySize,omitempty"`
	// Environment variables of the function.
	Environment map[string]string `yaml:"environment,omitempty"`
	// Concurrency is the most runtime processes run at once (ReservedConcurrentExecutions);
	// default 10.
	Concurrency int `yaml:"concurrency,omitempty"`
}

// Management configures the @connections API and its extensions.
type Management struct {
	// Credentials that SigV4-signed calls are verified against. With none, only loopback
	// clients may call the API, and the server warns at start.
	Credentials []Credential `yaml:"credentials,omitempty"`
}

// Credential is one access key pair accepted on the management API.
type Credential struct {
	AccessKeyID     string `yaml:"accessKeyId,omitempty"`
	SecretAccessKey string `yaml:"secretAccessKey,omitempty"`
}

// Limits as on AWS unless changed.
type Limits struct {
	MessageBytes          Size     `yaml:"messageBytes,omitempty"`
	FrameBytes            Size     `yaml:"frameBytes,omitempty"`
	IdleTimeout           Duration `yaml:"idleTimeout,omitempty"`
	MaxConnectionDuration Duration `yaml:"maxConnectionDuration,omitempty"`
	PingInterval          Duration `yaml:"pingInterval,omitempty"`
	SendQueueBytes        Size     `yaml:"sendQueueBytes,omitempty"`
	HandshakeTimeout      Duration `yaml:"handshakeTimeout,omitempty"`
	// HandshakeHeaderBytes and HandshakeHeaders cap the upgrade request's header lines (total
	// bytes, and count): more gets 431 before any authorizer or $connect work.
	HandshakeHeaderBytes Size `yaml:"handshakeHeaderBytes,omitempty"`
	HandshakeHeaders     int  `yaml:"handshakeHeaders,omitempty"`
	// AllowBinary accepts binary frames (passed base64 with isBase64Encoded: true) instead of
	// closing with 1003 as AWS does.
	AllowBinary bool `yaml:"allowBinary,omitempty"`
	// ConcurrencyPerConnection > 1 lets that many messages of one connection be in flight at once
	// (order is then no longer kept). Default 1: in order.
	ConcurrencyPerConnection int `yaml:"concurrencyPerConnection,omitempty"`
	// InboundQueueBytes bounds a connection's messages queued for (or in) integrations; past it
	// wsgate stops reading the socket, holding at most as many bytes again before closing 1008.
	InboundQueueBytes Size `yaml:"inboundQueueBytes,omitempty"`
	// InboundStallTimeout closes (1008) a connection that stopped being read for this long.
	InboundStallTimeout Duration `yaml:"inboundStallTimeout,omitempty"`
	// ControlFramesPerSecond bounds the pings and pongs a client may send per second (1008 past it).
	ControlFramesPerSecond int `yaml:"controlFramesPerSecond,omitempty"`
	// MaxInflightCalls bounds the integration calls in flight on this node; more wait their turn.
	MaxInflightCalls int `yaml:"maxInflightCalls,omitempty"`
	// SocketSendBufferBytes is the kernel send buffer (SO_SNDBUF) of each accepted socket.
	SocketSendBufferBytes Size `yaml:"socketSendBufferBytes,omitempty"`
}

// Shutdown governs SIGTERM/SIGINT.
type Shutdown struct {
	GracePeriod Duration `yaml:"gracePeriod,omitempty"`
}

// Store holds the connection registry: memory (one node) or redis (many nodes).
type Store struct {
	Type   string `yaml:"type,omitempty"`
	URL    string `yaml:"url,omitempty"`
	Prefix string `yaml:"prefix,omitempty"`
	// NodeLeaseTTL: how soon survivors notice a dead node: its last $disconnect starts within
	// ttl + ttl/10 of a crash, plus the time to run them (docs/scale-out.md).
	NodeLeaseTTL Duration `yaml:"nodeLeaseTtl,omitempty"`
	// NodeID names this node; default hostname-pid-random.
	NodeID string `yaml:"nodeId,omitempty"`
}

// Admin is an optional second listener for /metrics and /healthz (otherwise on the main one).
type Admin struct {
	Listen string `yaml:"listen,omitempty"`
	// Pprof serves Go's profiler at /debug/pprof/ on the admin listener (never on the main one,
	// which faces clients). It needs admin.listen.
	Pprof bool `yaml:"pprof,omitempty"`
}

// Log settings; --log-level overrides Level.
type Log struct {
	Level  string `yaml:"level,omitempty"`  // debug, info, warn, error
	Format string `yaml:"format,omitempty"` // text, json; default text on a terminal, JSON otherwise
}
