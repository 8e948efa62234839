package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
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
	params  params
	forward bool // forward the client's handshake headers on CONNECT (HTTP, HTTP_PROXY)
	extra   http.Header
}

func newHTTPTarget(method, rawURI string, stageVars map[string]string, reqParams map[string]string, client *http.Client) (*httpTarget, error) {
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
	return &httpTarget{method: method, url: u, client: client, params: ps, forward: true}, nil
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
	u := t.url
	var ctxVars map[string]string
	if t.params.needsContext() {
		ctxVars = ev.RequestContext.ContextVars()
	}
	// Query-string parameters need a per-request URL; headers are set below.
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

	req := &http.Request{
		Method:     t.method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, 8),
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
	req = req.WithContext(ctx)
	h := req.Header
	rc := &ev.RequestContext
	if t.forward && rc.EventType == event.Connect {
		forwardHandshake(h, ev)
	}
	sourceIP := rc.Identity.SourceIP
	if xff := h.Get("X-Forwarded-For"); xff == "" {
		if sourceIP != "" {
			h.Set("X-Forwarded-For", sourceIP)
		}
	} else if sourceIP != "" && !lastHopIs(xff, sourceIP) {
		h.Set("X-Forwarded-For", xff+", "+sourceIP)
	}
	h.Set("X-Amzn-Apigateway-Api-Id", rc.APIID)
	if tr := event.TraceID(ctx); tr != "" && h.Get(event.TraceHeader) == "" {
		h.Set(event.TraceHeader, tr) // API Gateway sends one with every integration request
	}
	h.Set("User-Agent", "AmazonAPIGateway_"+rc.APIID)
	h.Set("Ws-Uri", pathOf(ev))
	if len(body) > 0 {
		h.Set("Content-Type", contentType(body))
	}
	for k, v := range t.extra {
		h[k] = v
	}
	// Mapped headers last: they override forwarded ones (the Sec-WebSocket-Version '0' trick).
	for i := range t.params {
		p := &t.params[i]
		if p.target != targetHeader {
			continue
		}
		if v, ok := p.resolve(ev, ctxVars, frame); ok {
			h.Set(p.name, v)
		}
	}

	resp, err := t.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", t.method, t.url.Redacted(), err)
	}
	defer resp.Body.Close()
	b, err := readBody(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", t.method, t.url.Redacted(), err)
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// forwardHandshake copies the client's handshake headers, as API Gateway forwards
// Sec-WebSocket-*, X-Forwarded-* and the rest on $connect.
func forwardHandshake(h http.Header, ev *event.Event) {
	if len(ev.MultiValueHeaders) > 0 {
		for k, vs := range ev.MultiValueHeaders {
			ck := http.CanonicalHeaderKey(k)
			if hopByHop[ck] {
				continue
			}
			for _, v := range vs {
				h.Add(ck, v)
			}
		}
		return
	}
	for k, v := range ev.Headers {
		ck := http.CanonicalHeaderKey(k)
		if !hopByHop[ck] {
			h.Add(ck, v)
		}
	}
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
