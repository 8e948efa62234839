package routing

import (
	"encoding/json"
	"strings"
)

// Eval evaluates e against a WebSocket message body for route selection.
//
// ok is false when the expression reads request.body and the body is not a JSON object
// (non-JSON, an array, a scalar), or when the expression names a variable other than
// request.body; the caller then uses the $default route. A path that is not found yields ""
// for that variable, so `${request.body.a}-${request.body.zz}` gives "join-". Non-string values
// are stringified (see stringify). An expression without request.body variables (a literal such
// as `\$default`) never looks at the body.
//
// Eval does not unmarshal the body: it validates it and scans for the path, allocating only the
// returned string.
func (e *Expr) Eval(body []byte) (key string, ok bool) {
	return e.EvalWith(body, nil)
}

// EvalWith is Eval with extra variables resolved by vars, called with the variable name without
// "$" (e.g. "integration.response.statuscode"). vars returning false means "not set" and yields
// "" for that variable, like a missing JSON path. With vars nil, any variable other than
// request.body makes ok false. request.body variables still read body (which may be nil).
func (e *Expr) EvalWith(body []byte, vars func(name string) (string, bool)) (string, bool) {
	var root int
	if e.body {
		var ok bool
		if root, ok = jsonObject(body); !ok {
			return "", false
		}
	}
	// The common case, one variable and no literal text, needs no builder.
	if len(e.parts) == 1 {
		return e.evalPart(&e.parts[0], body, root, vars)
	}
	var sb strings.Builder
	for i := range e.parts {
		s, ok := e.evalPart(&e.parts[i], body, root, vars)
		if !ok {
			return "", false
		}
		sb.WriteString(s)
	}
	return sb.String(), true
}

func (e *Expr) evalPart(p *part, body []byte, root int, vars func(string) (string, bool)) (string, bool) {
	switch {
	case p.v == nil:
		return p.lit, true
	case p.v.isBody:
		return lookup(body, root, p.v.path), true
	case vars == nil:
		return "", false
	default:
		s, _ := vars(p.v.name)
		return s, true
	}
}

// jsonObject reports whether body is valid JSON whose top-level value is an object, and where
// that object starts.
func jsonObject(body []byte) (int, bool) {
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' || !json.Valid(body) {
		return 0, false
	}
	return i, true
}

// lookup follows path from the object at body[root] and stringifies what it finds ("" when a
// step does not match).
func lookup(body []byte, root int, path []step) string {
	start, end := root, skipValue(body, root)
	for _, s := range path {
		var found bool
		switch {
		case s.isIndex && body[start] == '[':
			start, end, found = element(body, start, s.index)
		case !s.isIndex && body[start] == '{':
			start, end, found = member(body, start, s.key)
		}
		if !found {
			return ""
		}
	}
	return stringify(body, start, end)
}
