package authorizer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/lambda"
	"github.com/wsgate/wsgate/internal/observe"
)

// requestAuth is AWS's Lambda REQUEST authorizer (docs/aws-compatibility.md): it sends AWS's
// authorizer input event to a function and evaluates the IAM policy that comes back.
//
// Outcomes: an Allow covering the methodArn admits; a Deny, or no covering Allow, is 403; the
// function failing with the message "Unauthorized" (or an HTTP authorizer answering 401) is 401;
// anything else that goes wrong (unreachable, timeout, invalid output) is 500. With a resultTtl,
// admissions and 403s are cached per identity, as AWS caches policies; 401s and 500s are not.
type requestAuth struct {
	name    string
	sources []string
	sourceNames
	o         Options
	methodArn string
	invoke    func(ctx context.Context, payload []byte) ([]byte, *Error)
	userClaim string
	timeout   time.Duration
	ttl       time.Duration
	cache     *cache
	flight    flight
}

func newRequest(name string, cfg config.Authorizer, sources []string, o Options) (*requestAuth, error) {
	a := &requestAuth{
		name:        name,
		sources:     sources,
		sourceNames: namesOf(sources),
		o:           o,
		methodArn:   o.MethodArn(),
		userClaim:   cfg.UserIDClaim,
		timeout:     cfg.Timeout.D(),
		ttl:         cfg.ResultTTL.D(),
		cache:       newCache(DefaultCacheEntries, o.Now),
	}
	if a.timeout <= 0 {
		a.timeout = DefaultTimeout
	}
	if cfg.URI == "" {
		return nil, errors.New("uri: name the authorizer function (a Lambda function name or ARN for AWS_PROXY, an http(s) URL for HTTP)")
	}
	switch cfg.IntegrationType {
	case config.AWSProxy, "": // REQUEST authorizers are Lambda functions on AWS
		region := o.Region
		if strings.HasPrefix(cfg.URI, "arn:") {
			region = "" // the function ARN names its region
		}
		var inv lambda.Function = lambda.New(cfg.URI, cfg.Endpoint, region, o.HTTPClient)
		if cfg.Endpoint == "" && o.Function != nil {
			if fn := o.Function(cfg.URI); fn != nil {
				inv = fn
			}
		}
		a.invoke = func(ctx context.Context, payload []byte) ([]byte, *Error) {
			return invokeLambda(ctx, inv, payload)
		}
	case config.HTTP:
		u, err := url.Parse(cfg.URI)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("uri %q: use an absolute http:// or https:// URL for integrationType HTTP", cfg.URI)
		}
		uri, client := cfg.URI, o.HTTPClient
		a.invoke = func(ctx context.Context, payload []byte) ([]byte, *Error) {
			return invokeHTTP(ctx, client, uri, payload)
		}
	default:
		return nil, fmt.Errorf("integrationType %q: use %s (Lambda) or %s (POST of the authorizer event)", cfg.IntegrationType, config.AWSProxy, config.HTTP)
	}
	return a, nil
}

// Authorize implements Authorizer.
func (a *requestAuth) Authorize(ctx context.Context, ev *event.Event) (*Result, error) {
	return a.AuthorizeSourced(ctx, ev, nil)
}

// IdentitySources implements Sourced.
func (a *requestAuth) IdentitySources() []string { return a.sources }

// AuthorizeSourced implements Sourced: the identity sources key the cache; the whole event
// (full) is built only for a call to the function. A nil full means ev is whole.
func (a *requestAuth) AuthorizeSourced(ctx context.Context, ev *event.Event, full func() *event.Event) (*Result, error) {
	vals, ok := IdentityValues(a.sources, ev, a.o.StageVariables)
	if !ok {
		return nil, a.refuse(unauthorized(errors.New("identity source missing or empty")))
	}
	if full == nil {
		full = func() *event.Event { return ev }
	}
	var out outcome
	if a.ttl <= 0 {
		out = a.decide(ctx, full())
	} else {
		key := cacheKey(vals)
		var hit bool
		if out, hit = a.cache.get(key); !hit {
			out = a.flight.do(ctx, key, func(ctx context.Context) outcome {
				// A caller that waited for another's miss may find it cached now.
				if o, hit := a.cache.get(key); hit {
					return o
				}
				o := a.decide(ctx, full())
				if o.res != nil || o.err.Status == http.StatusForbidden {
					a.cache.put(key, o, a.ttl)
				}
				return o
			})
		}
	}
	if out.err != nil {
		return nil, a.refuse(out.err)
	}
	return out.res, nil
}

func (a *requestAuth) refuse(e *Error) error {
	if e.Status >= 500 {
		a.o.Logger.Warn("authorizer failed", "authorizer", a.name, "status", e.Status, observe.KeyError, e.cause)
	} else if a.o.Logger.Enabled(context.Background(), slog.LevelDebug) {
		a.o.Logger.Debug("connect refused", "authorizer", a.name, "status", e.Status, observe.KeyError, e.cause)
	}
	return e
}

// decide calls the function once and evaluates its answer.
func (a *requestAuth) decide(ctx context.Context, ev *event.Event) outcome {
	payload, err := json.Marshal(a.inputEvent(ev))
	if err != nil {
		return outcome{err: internal(fmt.Errorf("encode authorizer event: %w", err))}
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	body, e := a.invoke(ctx, payload)
	if e != nil {
		return outcome{err: e}
	}
	res, e := parseOutput(body, a.methodArn, a.userClaim)
	return outcome{res: res, err: e}
}

// Close implements Authorizer; a REQUEST authorizer has no background work.
func (a *requestAuth) Close() error { return nil }

// requestEvent is AWS's REQUEST authorizer input for WebSocket APIs. Field order and nulls
// follow AWS: the query maps are null without a query, stageVariables is {} when empty, body is
// always null.
type requestEvent struct {
	Type                            string               `json:"type"`
	MethodArn                       string               `json:"methodArn"`
	Headers                         map[string]string    `json:"headers"`
	MultiValueHeaders               map[string][]string  `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string    `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string  `json:"multiValueQueryStringParameters"`
	StageVariables                  map[string]string    `json:"stageVariables"`
	RequestContext                  event.RequestContext `json:"requestContext"`
	IsBase64Encoded                 bool                 `json:"isBase64Encoded"`
	Body                            *string              `json:"body"`
}

// inputEvent builds the authorizer input from the CONNECT event. The handshake's Connection and
// Upgrade headers appear in AWS's authorizer input although not in the CONNECT event, so they
// are added from ev.UpgradeHeaders (in the client's spelling).
func (a *requestAuth) inputEvent(ev *event.Event) *requestEvent {
	re := &requestEvent{
		Type:           "REQUEST",
		MethodArn:      a.methodArn,
		Headers:        make(map[string]string, len(ev.Headers)+2),
		StageVariables: a.o.StageVariables,
		RequestContext: ev.RequestContext,
	}
	if re.StageVariables == nil {
		re.StageVariables = map[string]string{}
	}
	re.RequestContext.Authorizer = nil
	re.RequestContext.UserID = ""
	for k, v := range ev.Headers {
		re.Headers[k] = v
	}
	re.MultiValueHeaders = make(map[string][]string, len(re.Headers))
	for k, vs := range ev.MultiValueHeaders {
		re.MultiValueHeaders[k] = vs
	}
	for k, v := range re.Headers {
		if _, ok := re.MultiValueHeaders[k]; !ok {
			re.MultiValueHeaders[k] = []string{v}
		}
	}
	// The handshake's own Connection and Upgrade lines, as sent; a gateway that did not
	// record them (an event built by hand) gets the values every upgrade carries.
	for _, l := range ev.UpgradeHeaders {
		re.Headers[l.Name] = l.Value
		re.MultiValueHeaders[l.Name] = append(re.MultiValueHeaders[l.Name], l.Value)
	}
	for _, h := range [...][2]string{{"Connection", "upgrade"}, {"Upgrade", "websocket"}} {
		if headerValue(&event.Event{Headers: re.Headers}, h[0]) == "" {
			re.Headers[h[0]] = h[1]
			re.MultiValueHeaders[h[0]] = []string{h[1]}
		}
	}
	if len(ev.QueryStringParameters) > 0 || len(ev.MultiValueQueryStringParameters) > 0 {
		re.QueryStringParameters = ev.QueryStringParameters
		re.MultiValueQueryStringParameters = ev.MultiValueQueryStringParameters
		if re.QueryStringParameters == nil {
			re.QueryStringParameters = make(map[string]string, len(ev.MultiValueQueryStringParameters))
			for k, vs := range ev.MultiValueQueryStringParameters {
				if len(vs) > 0 {
					re.QueryStringParameters[k] = vs[len(vs)-1]
				}
			}
		}
		if re.MultiValueQueryStringParameters == nil {
			re.MultiValueQueryStringParameters = make(map[string][]string, len(ev.QueryStringParameters))
			for k, v := range ev.QueryStringParameters {
				re.MultiValueQueryStringParameters[k] = []string{v}
			}
		}
	}
	return re
}

func invokeLambda(ctx context.Context, inv lambda.Function, payload []byte) ([]byte, *Error) {
	body, err := inv.Invoke(ctx, payload)
	if err != nil {
		var fe *lambda.FunctionError
		if errors.As(err, &fe) && fe.Message == "Unauthorized" {
			return nil, unauthorized(err)
		}
		return nil, internal(err)
	}
	return body, nil
}

// invokeHTTP POSTs the event to an HTTP authorizer. A 2xx carries the authorizer output; 401 and
// 403 refuse with that status (the natural HTTP spelling of "Unauthorized" and Deny); any other
// status is an authorizer failure.
func invokeHTTP(ctx context.Context, client *http.Client, uri string, payload []byte) ([]byte, *Error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, bytes.NewReader(payload))
	if err != nil {
		return nil, internal(fmt.Errorf("call authorizer %s: %w", uri, err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, internal(fmt.Errorf("call authorizer %s: %w", uri, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResultBytes+1))
	if err != nil {
		return nil, internal(fmt.Errorf("call authorizer %s: read: %w", uri, err))
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, unauthorized(fmt.Errorf("authorizer %s answered 401", uri))
	case resp.StatusCode == http.StatusForbidden:
		return nil, forbidden(fmt.Errorf("authorizer %s answered 403", uri))
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, internal(fmt.Errorf("authorizer %s answered %d", uri, resp.StatusCode))
	}
	return body, nil
}
