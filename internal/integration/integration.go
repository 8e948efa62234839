// Package integration calls the backend of a route, the way API Gateway's integration types do
// (docs/aws-compatibility.md): HTTP_PROXY (the frame is POSTed as is), HTTP (a request template is
// rendered and POSTed, the answer goes through integration responses), AWS_PROXY (the proxy
// event through the Lambda Invoke API), AWS (service integrations: the rendered template sent
// to the service in its own protocol, SigV4-signed; or to an HTTP stand-in) and MOCK (answered
// in-process from templates).
//
// The gateway calls Invoke for CONNECT, MESSAGE and DISCONNECT events and decides what the
// answer means: on $connect a 2xx accepts the socket, on a two-way route Body is sent back.
package integration

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/wsgate/wsgate/internal/awsservice"
	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/lambda"
	"github.com/wsgate/wsgate/internal/observe"
)

// MaxResponseBytes bounds a backend answer read into memory (10 MB, API Gateway's payload
// limit). A larger answer is an integration failure.
const MaxResponseBytes = 10 << 20

// Response is a backend's answer to one event.
type Response struct {
	// StatusCode: the HTTP status of HTTP/HTTP_PROXY/AWS backends; for AWS_PROXY the result's
	// statusCode (a number or a numeric string; missing -> 200); for MOCK the statusCode the
	// request template rendered.
	StatusCode int
	// Header: the backend's response headers (AWS_PROXY: the result's headers and
	// multiValueHeaders). On $connect, Sec-WebSocket-Protocol is what the gateway copies into the
	// 101 response; nothing else reaches the client.
	Header http.Header
	// Body is what a two-way route sends back: for proxy integrations the backend body (an
	// AWS_PROXY result body base64-decoded when isBase64Encoded); for HTTP, AWS and MOCK the
	// rendered integration response template, or the backend body when no template applies.
	Body []byte
}

// Integration calls one backend.
type Integration interface {
	// Invoke calls the backend for one event (CONNECT, MESSAGE or DISCONNECT). err != nil means
	// the integration failed (unreachable, timeout, Lambda function error, invalid result, no
	// request template under passthrough NEVER): the gateway then sends AWS's "Internal server
	// error" frame, or refuses $connect with 502. A non-2xx status is not an error: the gateway
	// decides what it means. Invoke applies the integration's timeout on top of ctx. Safe for
	// concurrent use.
	Invoke(ctx context.Context, ev *event.Event) (*Response, error)
}

// Options are what integrations share, beyond their own config.
type Options struct {
	// HTTPClient carries backend calls and Lambda Invoke API calls to a local endpoint. Share one
	// for all integrations so keep-alive connections are reused. nil: DefaultHTTPClient().
	HTTPClient *http.Client
	// Pool, when set, carries the HTTP, HTTP_PROXY and AWS stand-in calls to plain http://
	// backends that no proxy from the environment applies to, instead of HTTPClient (see Pool:
	// the same answers, without net/http's per-call goroutine hand-offs). Share one. nil: a
	// pool of the integration's own when HTTPClient is nil too; none when the caller gave an
	// HTTPClient (it then carries every call).
	Pool *Pool
	// StageVariables resolve ${stageVariables.x} in URIs, stageVariables.x request parameters and
	// $stageVariables in templates.
	StageVariables map[string]string
	// Region for AWS_PROXY integrations that set none.
	Region string
	// Logger; nil discards.
	Logger *slog.Logger
	// AWS addresses and signs the calls of AWS service integrations; share one. nil: one is
	// made per integration from the SDK's default configuration.
	AWS *awsservice.Client
	// Function, when set, returns the function wsgate runs itself that an AWS_PROXY uri names
	// (nil when it names none); such an integration without an endpoint invokes it instead of
	// the Lambda Invoke API.
	Function func(uri string) lambda.Function
}

// ErrUnsupportedMediaType is returned by HTTP, AWS and MOCK integrations when no request template
// matched and the passthrough behaviour forbids sending the body unchanged (API Gateway answers
// 415 Unsupported Media Type there).
var ErrUnsupportedMediaType = errors.New("Unsupported Media Type: no request template matched and passthroughBehavior forbids passing the body through")

// New builds the integration name from cfg. Errors name the integration and say what to fix.
// cfg.Timeout (default 29s, AWS's range 50ms..29s) is applied per call inside Invoke.
func New(name string, cfg config.Integration, o Options) (Integration, error) {
	if o.HTTPClient == nil {
		o.HTTPClient = DefaultHTTPClient()
		if o.Pool == nil {
			o.Pool = NewPool()
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	timeout, err := timeoutOf(cfg)
	if err != nil {
		return nil, fmt.Errorf("integration %q: %w", name, err)
	}
	var in Integration
	switch cfg.Type {
	case config.HTTPProxy:
		in, err = newHTTPProxy(name, cfg, o)
	case config.HTTP:
		in, err = newHTTP(name, cfg, o)
	case config.AWSProxy:
		in, err = newAWSProxy(name, cfg, o)
	case config.AWS:
		in, err = newAWSService(name, cfg, o)
	case config.Mock:
		in, err = newMock(name, cfg, o)
	case "":
		err = fmt.Errorf("type is missing: set type: to HTTP_PROXY, HTTP, AWS_PROXY, AWS or MOCK")
	default:
		err = fmt.Errorf("unknown type %q: use HTTP_PROXY, HTTP, AWS_PROXY, AWS or MOCK", cfg.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("integration %q: %w", name, err)
	}
	return &timed{name: name, typ: cfg.Type, timeout: timeout, in: in, log: o.Logger}, nil
}

func timeoutOf(cfg config.Integration) (time.Duration, error) {
	d := cfg.Timeout.D()
	if d == 0 {
		return config.DefaultIntegrationTimeout, nil
	}
	if d < config.MinIntegrationTimeout || d > config.MaxIntegrationTimeout {
		return 0, fmt.Errorf("timeout %s is outside %s..%s (API Gateway's range): write e.g. timeout: 29s",
			d, config.MinIntegrationTimeout, config.MaxIntegrationTimeout)
	}
	return d, nil
}

// timed applies the per-call timeout and names the integration in errors.
type timed struct {
	name, typ string
	timeout   time.Duration
	in        Integration
	log       *slog.Logger
}

// byDeadline is an integration that can bound a call by a deadline on its backend connection
// instead of a context's timer: HTTP and HTTP_PROXY through the Pool.
type byDeadline interface {
	// pooled reports whether calls go through the Pool (else invokeBy must not be used).
	pooled() bool
	// invokeBy is Invoke ending at deadline; ctx must never end (its Done is nil). A call that
	// runs out of time fails with an error wrapping context.DeadlineExceeded.
	invokeBy(ctx context.Context, ev *event.Event, deadline time.Time) (*Response, error)
}

func (t *timed) Invoke(ctx context.Context, ev *event.Event) (*Response, error) {
	var r *Response
	var err error
	var timedOut bool
	if bd, ok := t.in.(byDeadline); ok && ctx.Done() == nil && bd.pooled() {
		// The caller's context never ends (the gateway routes messages with
		// context.Background()), so the timeout is the backend connection's deadline: no
		// context, timer and cancel hook made per call (10 of a message's allocations and a
		// timer started and stopped on every call; docs/benchmarks.md).
		r, err = bd.invokeBy(ctx, ev, time.Now().Add(t.timeout))
		timedOut = errors.Is(err, context.DeadlineExceeded)
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
		r, err = t.in.Invoke(ctx, ev)
		timedOut = errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil
		cancel()
	}
	if t.log.Enabled(ctx, slog.LevelDebug) {
		status := 0
		if r != nil {
			status = r.StatusCode
		}
		t.log.LogAttrs(ctx, slog.LevelDebug, "integration call", slog.String("integration", t.name),
			slog.String("type", t.typ), slog.String("event", ev.RequestContext.EventType),
			slog.String(observe.KeyConnectionID, ev.RequestContext.ConnectionID), slog.Int("status", status), slog.Any(observe.KeyError, err))
	}
	if err != nil {
		if timedOut {
			return nil, fmt.Errorf("integration %q: timed out after %s: %w", t.name, t.timeout, err)
		}
		return nil, fmt.Errorf("integration %q: %w", t.name, err)
	}
	return r, nil
}

// DefaultHTTPClient returns a client tuned for many concurrent calls to few backends: a large
// idle pool per host (the standard 2 would reopen connections under load) and no overall
// timeout (each call carries its deadline in its context).
func DefaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return &http.Client{Transport: t}
}

// frameBody is what the client sent: the MESSAGE frame text (binary frames arrive base64-encoded
// with IsBase64Encoded and are decoded here), nil for CONNECT and DISCONNECT.
func frameBody(ev *event.Event) ([]byte, error) {
	if ev.RequestContext.EventType != event.Message || ev.Body == "" {
		return nil, nil
	}
	if ev.Frame != nil {
		return ev.Frame, nil // the gateway's own copy of the payload: no second copy, no decoding
	}
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("event body is marked isBase64Encoded but is not base64: %w", err)
		}
		return b, nil
	}
	return []byte(ev.Body), nil
}

// readBody reads a backend answer, bounded by MaxResponseBytes.
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if len(b) > MaxResponseBytes {
		return nil, fmt.Errorf("response exceeds %d bytes", MaxResponseBytes)
	}
	return b, nil
}
