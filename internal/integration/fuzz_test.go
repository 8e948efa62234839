package integration

import (
	"strings"
	"testing"
)

// FuzzCompileParam: any target/source pair either compiles or is refused with a message, and a
// compiled one resolves without panicking on any event.
func FuzzCompileParam(f *testing.F) {
	for _, s := range [][2]string{
		{"integration.request.header.connectionId", "context.connectionId"},
		{"integration.request.querystring.t", "route.request.querystring.token"},
		{"integration.request.header.x", "route.request.header.Origin"},
		{"integration.request.header.x", "route.request.body.a.b[0]['c']"},
		{"integration.request.header.x", "stageVariables.env"},
		{"integration.request.header.Sec-WebSocket-Version", "'0'"},
		{"integration.request.path.x", "'a'"},
		{"integration.request.header.x", "'"},
		{"integration.request.header.x", "route.request.body."},
	} {
		f.Add(s[0], s[1], `{"a":{"b":[{"c":1}]}}`)
	}
	f.Fuzz(func(t *testing.T, target, source, body string) {
		p, err := compileParam(target, source, map[string]string{"env": "prod"})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if p.name == "" {
			t.Fatalf("compiled %q with no name", target)
		}
		for _, ev := range []*evt{connectEvent(), messageEvent(body)} {
			p.resolve(ev, ev.RequestContext.ContextVars(), []byte(body))
		}
	})
}

// FuzzExpandStageVars: expansion never panics, and succeeds exactly when every reference is
// closed and defined.
func FuzzExpandStageVars(f *testing.F) {
	for _, s := range []string{"http://${stageVariables.h}/x", "http://x/${stageVariables.", "${stageVariables.}", "plain"} {
		f.Add(s)
	}
	vars := map[string]string{"h": "host", "": "empty"}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expandStageVars(s, vars)
		if err == nil && strings.Contains(out, "${stageVariables.") && !strings.Contains(s, "${stageVariables.${stageVariables.") {
			// Only a value containing the marker could leave one; ours do not.
			t.Fatalf("%q expanded to %q", s, out)
		}
	})
}

// FuzzMockStatus: a rendered MOCK template yields a valid status or an error.
func FuzzMockStatus(f *testing.F) {
	for _, s := range []string{`{"statusCode": 200}`, `{"statusCode": "404"}`, `{}`, `x`, `{"statusCode": 1e3}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		code, err := mockStatus(b)
		if err == nil && (code < 100 || code > 599) {
			t.Fatalf("status %d from %q", code, b)
		}
	})
}
