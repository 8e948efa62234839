package routing

import (
	"encoding/json"
	"testing"
)

func FuzzCompile(f *testing.F) {
	for _, tc := range evalCases {
		f.Add(tc.expr)
	}
	f.Add("${request.body['}']}x")
	f.Add(`$request.body['a\'b']`)
	f.Fuzz(func(t *testing.T, expr string) {
		e, err := Compile(expr)
		if err != nil {
			return
		}
		if e.String() != expr {
			t.Fatalf("String() = %q, want %q", e.String(), expr)
		}
		e.Eval([]byte(`{"action":"x","a":{"b":[1,2]}}`))
		e.EvalWith(nil, func(string) (string, bool) { return "v", true })
	})
}

// FuzzEval checks that Eval never panics and agrees with encoding/json on which bodies are
// objects and on the value of a top-level string key.
func FuzzEval(f *testing.F) {
	for _, tc := range evalCases {
		f.Add(tc.expr, tc.body)
	}
	f.Fuzz(func(t *testing.T, expr, body string) {
		if e, err := Compile(expr); err == nil {
			e.Eval([]byte(body))
		}
		e, _ := Compile("$request.body.action")
		got, ok := e.Eval([]byte(body))
		var m map[string]any
		isObj := json.Unmarshal([]byte(body), &m) == nil && m != nil
		if ok != isObj {
			t.Fatalf("Eval(%q) ok=%v, encoding/json says object=%v", body, ok, isObj)
		}
		if s, isStr := m["action"].(string); ok && isStr && got != s {
			t.Fatalf("Eval(%q) = %q, encoding/json says %q", body, got, s)
		}
	})
}
