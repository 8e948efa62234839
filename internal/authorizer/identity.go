package authorizer

import (
	"errors"
	"strings"

	"github.com/wsgate/wsgate/internal/event"
)

// Identity source prefixes, as AWS spells them for WebSocket APIs. The $request.header.X and
// $request.querystring.X spellings of HTTP APIs are accepted too.
const (
	srcHeader      = "route.request.header."
	srcQuery       = "route.request.querystring."
	srcStageVar    = "stageVariables."
	srcContext     = "context."
	srcHTTPHeader  = "$request.header."
	srcHTTPQuery   = "$request.querystring."
	errSourceUsage = "use route.request.header.NAME, route.request.querystring.NAME, stageVariables.NAME or context.NAME"
)

func checkSource(s string) error {
	for _, p := range []string{srcHeader, srcQuery, srcStageVar, srcContext, srcHTTPHeader, srcHTTPQuery} {
		if strings.HasPrefix(s, p) {
			if len(s) == len(p) {
				return errors.New("\"" + s + "\": the name after the last dot is missing")
			}
			return nil
		}
	}
	return errors.New("\"" + s + "\": " + errSourceUsage)
}

// IdentityValues extracts the configured identity sources from a CONNECT event, in order.
// ok is false if any source is unknown, missing or empty: the gateway then answers 401 without
// calling the authorizer, as AWS does. Header names match case-insensitively (HTTP semantics);
// query parameter, stage variable and context names match exactly. A header or query parameter
// sent several times yields its values joined with ",".
//
// The values also key the result cache. Safe for concurrent use; ev is only read.
func IdentityValues(sources []string, ev *event.Event, stageVars map[string]string) (vals []string, ok bool) {
	if len(sources) == 0 || ev == nil {
		return nil, false
	}
	vals = make([]string, 0, len(sources))
	var ctxVars map[string]string
	for _, s := range sources {
		var v string
		switch {
		case strings.HasPrefix(s, srcHeader):
			v = headerValue(ev, s[len(srcHeader):])
		case strings.HasPrefix(s, srcHTTPHeader):
			v = headerValue(ev, s[len(srcHTTPHeader):])
		case strings.HasPrefix(s, srcQuery):
			v = queryValue(ev, s[len(srcQuery):])
		case strings.HasPrefix(s, srcHTTPQuery):
			v = queryValue(ev, s[len(srcHTTPQuery):])
		case strings.HasPrefix(s, srcStageVar):
			v = stageVars[s[len(srcStageVar):]]
		case strings.HasPrefix(s, srcContext):
			if ctxVars == nil {
				ctxVars = ev.RequestContext.ContextVars()
			}
			v = ctxVars[s[len(srcContext):]]
		}
		if v == "" {
			return nil, false
		}
		vals = append(vals, v)
	}
	return vals, true
}

// headerValue looks name up case-insensitively: exact key first (the common case, no scan).
func headerValue(ev *event.Event, name string) string {
	if name == "" {
		return ""
	}
	if vs, ok := ev.MultiValueHeaders[name]; ok && len(vs) > 1 {
		return strings.Join(vs, ",")
	}
	if v, ok := ev.Headers[name]; ok {
		return v
	}
	for k, vs := range ev.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(vs) > 1 {
			return strings.Join(vs, ",")
		}
	}
	for k, v := range ev.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, vs := range ev.MultiValueHeaders {
		if strings.EqualFold(k, name) {
			return strings.Join(vs, ",")
		}
	}
	return ""
}

func queryValue(ev *event.Event, name string) string {
	if name == "" {
		return ""
	}
	if vs, ok := ev.MultiValueQueryStringParameters[name]; ok && len(vs) > 0 {
		return strings.Join(vs, ",")
	}
	return ev.QueryStringParameters[name]
}
