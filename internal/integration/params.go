package integration

import (
	"fmt"
	"net/textproto"
	"sort"
	"strings"

	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/routing"
)

// Request parameters (docs/aws-compatibility.md): requestParameters maps a target
// (integration.request.header.NAME, integration.request.querystring.NAME) to a source
// (context.VAR, route.request.header.NAME, route.request.querystring.NAME,
// route.request.body.JSONPATH, stageVariables.NAME, or a 'static' value).

type targetKind int

const (
	targetHeader targetKind = iota
	targetQuery
)

type sourceKind int

const (
	srcStatic sourceKind = iota
	srcContext
	srcHeader
	srcQuery
	srcBody
)

// param is one compiled request parameter mapping.
type param struct {
	target targetKind
	name   string // header (canonical) or query name
	src    sourceKind
	key    string        // context var, header or query name
	static string        // srcStatic value (stage variables are resolved to this at build time)
	body   *routing.Expr // srcBody
}

// params is a compiled requestParameters map, in a stable order (sorted by target).
type params []param

func compileParams(m map[string]string, stageVars map[string]string) (params, error) {
	targets := make([]string, 0, len(m))
	for t := range m {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	ps := make(params, 0, len(m))
	for _, t := range targets {
		p, err := compileParam(t, m[t], stageVars)
		if err != nil {
			return nil, fmt.Errorf("requestParameters[%q]: %w", t, err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func compileParam(target, source string, stageVars map[string]string) (param, error) {
	var p param
	switch {
	case strings.HasPrefix(target, "integration.request.header."):
		p.target, p.name = targetHeader, textproto.CanonicalMIMEHeaderKey(target[len("integration.request.header."):])
	case strings.HasPrefix(target, "integration.request.querystring."):
		p.target, p.name = targetQuery, target[len("integration.request.querystring."):]
	case strings.HasPrefix(target, "integration.request.path."):
		return p, fmt.Errorf("path parameters are not supported on WebSocket integrations: map to integration.request.header.NAME or integration.request.querystring.NAME")
	default:
		return p, fmt.Errorf("unknown target: write integration.request.header.NAME or integration.request.querystring.NAME")
	}
	if p.name == "" {
		return p, fmt.Errorf("target has no name after the last dot: write e.g. integration.request.header.connectionId")
	}
	source = strings.TrimSpace(source)
	switch {
	case len(source) >= 2 && source[0] == '\'' && source[len(source)-1] == '\'':
		p.src, p.static = srcStatic, source[1:len(source)-1]
	case strings.HasPrefix(source, "context."):
		p.src, p.key = srcContext, source[len("context."):]
	case strings.HasPrefix(source, "route.request.header."):
		p.src, p.key = srcHeader, source[len("route.request.header."):]
	case strings.HasPrefix(source, "route.request.querystring."):
		p.src, p.key = srcQuery, source[len("route.request.querystring."):]
	case strings.HasPrefix(source, "route.request.body."):
		e, err := routing.Compile("${request.body." + source[len("route.request.body."):] + "}")
		if err != nil {
			return p, fmt.Errorf("source %q: %w", source, err)
		}
		p.src, p.body = srcBody, e
	case strings.HasPrefix(source, "stageVariables."):
		name := source[len("stageVariables."):]
		v, ok := stageVars[name]
		if !ok {
			return p, fmt.Errorf("source %q: stage variable %q is not defined: add it under stageVariables:", source, name)
		}
		p.src, p.static = srcStatic, v
	case strings.HasPrefix(source, "$"):
		return p, fmt.Errorf("source %q: write it without the leading $ (e.g. context.connectionId)", source)
	default:
		return p, fmt.Errorf("source %q: use context.VAR, route.request.header.NAME, route.request.querystring.NAME, route.request.body.PATH, stageVariables.NAME or a quoted 'static value'", source)
	}
	if p.src != srcStatic && p.key == "" && p.body == nil {
		return p, fmt.Errorf("source %q has no name after the last dot", source)
	}
	return p, nil
}

// needsContext reports whether some parameter reads $context (so ContextVars is worth building).
func (ps params) needsContext() bool {
	for i := range ps {
		if ps[i].src == srcContext {
			return true
		}
	}
	return false
}

// resolve returns the value of p for ev, and false when the source has no value (the target is
// then left out, as API Gateway leaves out an unmapped parameter).
func (p *param) resolve(ev *event.Event, ctxVars map[string]string, body []byte) (string, bool) {
	switch p.src {
	case srcStatic:
		return p.static, true
	case srcContext:
		v, ok := ctxVars[p.key]
		return v, ok && v != ""
	case srcHeader:
		return headerValue(ev.Headers, p.key)
	case srcQuery:
		v, ok := ev.QueryStringParameters[p.key]
		return v, ok
	case srcBody:
		v, ok := p.body.Eval(body)
		return v, ok && v != ""
	}
	return "", false
}

// headerValue looks name up in an event's header map case-insensitively (the map keeps the
// client's spelling).
func headerValue(h map[string]string, name string) (string, bool) {
	if v, ok := h[name]; ok {
		return v, true
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}
