package authorizer

import (
	"errors"
	"net/url"
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

// HandshakeValues are IdentityValues of the CONNECT event a handshake makes, read from the
// handshake itself (its header lines as sent, and query) without building the event: for a
// Valued authorizer. Each header source's value is its lines' values joined with ",", as in
// the event's multiValueHeaders. ok is false, and the caller builds the event, when a source
// is not a header or query parameter, names a header the gateway itself adds to a CONNECT
// event when the client did not send it (Host, X-Amzn-Trace-Id, X-Forwarded-*) or leaves out
// of it (Connection, Upgrade), or reads nothing: the event then says what it holds.
func HandshakeValues(sources []string, lines []event.Header, query func() url.Values) (vals []string, ok bool) {
	if len(sources) == 0 {
		return nil, false
	}
	vals = make([]string, 0, len(sources))
	var q url.Values
	for _, s := range sources {
		var v string
		switch {
		case strings.HasPrefix(s, srcHeader):
			v, ok = lineValue(lines, s[len(srcHeader):])
		case strings.HasPrefix(s, srcHTTPHeader):
			v, ok = lineValue(lines, s[len(srcHTTPHeader):])
		case strings.HasPrefix(s, srcQuery):
			v, ok = queryParam(&q, query, s[len(srcQuery):])
		case strings.HasPrefix(s, srcHTTPQuery):
			v, ok = queryParam(&q, query, s[len(srcHTTPQuery):])
		default:
			return nil, false
		}
		if !ok || v == "" {
			return nil, false
		}
		vals = append(vals, v)
	}
	return vals, true
}

// lineValue is header name's value from the lines as sent: every line of that name (in any
// spelling) joined with ",". ok is false for the names a CONNECT event holds otherwise than
// as sent.
func lineValue(lines []event.Header, name string) (string, bool) {
	if name == "" || isAddedHeader(name) {
		return "", false
	}
	var v string
	n := 0
	for _, l := range lines {
		if strings.EqualFold(l.Name, name) {
			if n == 0 {
				v = l.Value
			} else {
				v += "," + l.Value
			}
			n++
		}
	}
	return v, true
}

// isAddedHeader reports whether a CONNECT event may hold header name otherwise than as the
// client sent it: Host, X-Amzn-Trace-Id and X-Forwarded-* (added when missing), Connection and
// Upgrade (left out).
func isAddedHeader(name string) bool {
	for _, h := range []string{"Host", "X-Amzn-Trace-Id", "Connection", "Upgrade"} {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	const fwd = "X-Forwarded-"
	return len(name) >= len(fwd) && strings.EqualFold(name[:len(fwd)], fwd)
}

// queryParam is query parameter name's values joined with ",", parsing the query once (*q).
func queryParam(q *url.Values, query func() url.Values, name string) (string, bool) {
	if name == "" {
		return "", false
	}
	if *q == nil {
		*q = query()
	}
	return strings.Join((*q)[name], ","), true
}
