package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
)

// hopByHop are the handshake headers not forwarded to an HTTP backend: connection-level ones,
// and those the outgoing request sets itself.
var hopByHop = map[string]bool{
	"Connection":          true,
	"Upgrade":             true,
	"Keep-Alive":          true,
	"Proxy-Connection":    true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Host":                true,
	"Content-Length":      true,
	"Content-Type":        true,
}

// httpTarget sends one request per event to an HTTP endpoint, with the headers API Gateway sends
// (docs/aws-compatibility.md), wsgate's ws-uri header and the integration's request parameters.
type httpTarget struct {
	method  string
	url     *url.URL
	client  *http.Client
	pool    *Pool  // carries the calls when set (plain http://, no proxy): see Pool
	addr    string // url's host:port, for pool
	params  params
	forward bool // forward the client's handshake headers on CONNECT (HTTP, HTTP_PROXY)
	extra   http.Header
}

func newHTTPTarget(method, rawURI string, stageVars map[string]string, reqParams map[string]string, o Options) (*httpTarget, error) {
	if method == "" {
		method = http.MethodPost
	}
	method = strings.ToUpper(method)
	u, err := parseHTTPURI(rawURI, stageVars)
	if err != nil {
		return nil, err
	}
	ps, err := compileParams(reqParams, stageVars)
	if err != nil {
		return nil, err
	}
	t := &httpTarget{method: method, url: u, client: o.HTTPClient, params: ps, forward: true}
	if o.Pool != nil && u.Scheme == "http" && u.User == nil {
		if proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err == nil && proxy == nil {
			port := u.Port()
			if port == "" {
				port = "80"
			}
			t.pool, t.addr = o.Pool, net.JoinHostPort(u.Hostname(), port)
		}
	}
	return t, nil
}

// parseHTTPURI resolves ${stageVariables.x} and checks the result is an http(s) URL.
func parseHTTPURI(raw string, stageVars map[string]string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("uri is missing: set uri: to the backend URL, e.g. http://127.0.0.1:3000/ws")
	}
	s, err := expandStageVars(raw, stageVars)
	if err != nil {
		return nil, fmt.Errorf("uri %q: %w", raw, err)
	}
	if msg := config.HTTPURLProblem(s); msg != "" {
		return nil, fmt.Errorf("uri %q %s; use an absolute http:// or https:// URL", s, msg)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("uri %q: %w", s, err)
	}
	return u, nil
}

// expandStageVars replaces each ${stageVariables.NAME} in s.
func expandStageVars(s string, vars map[string]string) (string, error) {
	const open = "${stageVariables."
	var b strings.Builder
	for {
		i := strings.Index(s, open)
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("unclosed %s...: close it with }", open)
		}
		name := s[i+len(open) : i+j]
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("stage variable %q is not defined: add it under stageVariables:", name)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+1:]
	}
}

// send makes the request for ev, carrying body, and returns the backend's answer. frame is what
// the client sent (route.request.body.X parameters read it); body is what goes to the backend
// (the frame itself for HTTP_PROXY, a rendered template otherwise). Any status is an answer;
// only transport failures are errors.
func (t *httpTarget) send(ctx context.Context, ev *event.Event, frame, body []byte) (*Response, error) {
	return t.sendBy(ctx, ev, frame, body, time.Time{})
}

// sendBy is send ending at deadline, set on the pooled connection (t.pool must be set and ctx
// never end); a zero deadline: ctx's end is the call's.
func (t *httpTarget) sendBy(ctx context.Context, ev *event.Event, frame, body []byte, deadline time.Time) (*Response, error) {
	var ctxVars map[string]string
	if t.params.needsContext() {
		ctxVars = ev.RequestContext.ContextVars()
	}
	u := t.requestURL(ev, ctxVars, frame)
	var buf [12]field
	h := t.header(ctx, buf[:0], ev, ctxVars, frame, body)
	var resp *Response
	var err error
	if t.pool != nil {
		resp, err = t.pool.do(ctx, &call{method: t.method, addr: t.addr, host: u.Host, requestURI: u.RequestURI(), header: h, body: body}, deadline)
	} else {
		resp, err = t.sendClient(ctx, u, h, body)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", t.method, t.url.Redacted(), err)
	}
	return resp, nil
}

// requestURL is the target URL with the query-string parameters that have a value for ev.
func (t *httpTarget) requestURL(ev *event.Event, ctxVars map[string]string, frame []byte) *url.URL {
	u := t.url
	var query url.Values
	for i := range t.params {
		p := &t.params[i]
		if p.target != targetQuery {
			continue
		}
		if v, ok := p.resolve(ev, ctxVars, frame); ok {
			if query == nil {
				query = u.Query()
			}
			query.Set(p.name, v)
		}
	}
	if query != nil {
		cp := *u
		cp.RawQuery = query.Encode()
		u = &cp
	}
	return u
}

// header appends to h the request's header lines: on CONNECT the client's handshake headers,
// then X-Forwarded-For, X-Amzn-Apigateway-Api-Id, X-Amzn-Trace-Id, User-Agent, Ws-Uri,
// Content-Type, the target's extra headers, and the mapped header parameters last (they
// override forwarded ones: the Sec-WebSocket-Version '0' trick).
func (t *httpTarget) header(ctx context.Context, h fields, ev *event.Event, ctxVars map[string]string, frame, body []byte) fields {
	rc := &ev.RequestContext
	if t.forward && rc.EventType == event.Connect {
		h = forwardHandshake(h, ev)
	}
	sourceIP := rc.Identity.SourceIP
	if xff := h.get("X-Forwarded-For"); xff == "" {
		if sourceIP != "" {
			h.set("X-Forwarded-For", sourceIP)
		}
	} else if sourceIP != "" && !lastHopIs(xff, sourceIP) {
		h.set("X-Forwarded-For", xff+", "+sourceIP)
	}
	h.set("X-Amzn-Apigateway-Api-Id", rc.APIID)
	if tr := event.TraceID(ctx); tr != "" && h.get(event.TraceHeader) == "" {
		h.set(event.TraceHeader, tr) // API Gateway sends one with every integration request
	}
	h.set("User-Agent", userAgent(rc.APIID))
	h.set("Ws-Uri", pathOf(ev))
	if len(body) > 0 {
		h.set("Content-Type", contentType(body))
	}
	for k, vs := range t.extra {
		h.del(k)
		for _, v := range vs {
			h.add(k, v)
		}
	}
	for i := range t.params {
		p := &t.params[i]
		if p.target != targetHeader {
			continue
		}
		if v, ok := p.resolve(ev, ctxVars, frame); ok {
			h.set(p.name, v)
		}
	}
	return h
}

// userAgent is "AmazonAPIGateway_" + the API id, built once for the last id seen.
func userAgent(apiID string) string {
	if p := lastUA.Load(); p != nil && p.apiID == apiID {
		return p.ua
	}
	p := &uaEntry{apiID: apiID, ua: "AmazonAPIGateway_" + apiID}
	lastUA.Store(p)
	return p.ua
}

type uaEntry struct{ apiID, ua string }

var lastUA atomic.Pointer[uaEntry]

// sendClient makes the call through the http.Client (https://, a proxy, or a caller's client).
func (t *httpTarget) sendClient(ctx context.Context, u *url.URL, h fields, body []byte) (*Response, error) {
	req := &http.Request{
		Method:     t.method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h.header(),
		Host:       u.Host,
	}
	if len(body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	} else {
		req.Body = http.NoBody
		req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	resp, err := t.client.Do(req.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := readBody(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// forwardHandshake appends the client's handshake headers to h, as API Gateway forwards
// Sec-WebSocket-*, X-Forwarded-* and the rest on $connect.
func forwardHandshake(h fields, ev *event.Event) fields {
	if len(ev.MultiValueHeaders) > 0 {
		for k, vs := range ev.MultiValueHeaders {
			ck := http.CanonicalHeaderKey(k)
			if hopByHop[ck] {
				continue
			}
			for _, v := range vs {
				h.add(ck, v)
			}
		}
		return h
	}
	for k, v := range ev.Headers {
		ck := http.CanonicalHeaderKey(k)
		if !hopByHop[ck] {
			h.add(ck, v)
		}
	}
	return h
}

func lastHopIs(xff, ip string) bool {
	if i := strings.LastIndexByte(xff, ','); i >= 0 {
		xff = xff[i+1:]
	}
	return strings.TrimSpace(xff) == ip
}

// pathOf is the event's path after the stage; "/" when the gateway left it empty.
func pathOf(ev *event.Event) string {
	if ev.Path == "" {
		return "/"
	}
	return ev.Path
}

// contentType is application/json for a JSON body (what dotNetify's [ApiController] needs, and
// what API Gateway evidently sends for JSON templates), text/plain for other text, and
// application/octet-stream for bytes that are not UTF-8.
func contentType(body []byte) string {
	if json.Valid(body) {
		return "application/json"
	}
	if utf8.Valid(body) {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}
