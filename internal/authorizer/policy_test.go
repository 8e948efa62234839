package authorizer

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
)

var wildcardCases = []struct {
	p, s string
	want bool
}{
	{"*", "", true},
	{"*", testArn, true},
	{"", "", true},
	{"", "a", false},
	{testArn, testArn, true},
	{"arn:aws:execute-api:*:*:api1/*", testArn, true},
	{"arn:aws:execute-api:eu-west-1:123456789012:api1/prod/*", testArn, true},
	{"arn:aws:execute-api:eu-west-1:123456789012:api1/dev/*", testArn, false},
	{"arn:aws:execute-api:eu-west-1:123456789012:api1/prod/$connec?", testArn, true},
	{"arn:aws:execute-api:eu-west-1:123456789012:api1/prod/$connect?", testArn, false},
	{"ARN:aws:execute-api:eu-west-1:123456789012:api1/prod/$connect", testArn, false},
	{"a*b*c", "aXbYc", true},
	{"a*b*c", "aXbY", false},
	{"a**", "a", true},
	{"*a*a*a*a*a*b", strings.Repeat("a", 200), false},
	{"?", "", false},
	{"*", "*0", true}, // found by FuzzWildcard: a "*" in s once matched the pattern's "*" literally
	{"a*", "a*", true},
	{"a?c", "a*c", true},
}

func TestWildcard(t *testing.T) {
	for _, tc := range wildcardCases {
		if got := wildcard(tc.p, tc.s); got != tc.want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

func TestActionMatchIgnoresCase(t *testing.T) {
	for _, a := range []string{"execute-api:Invoke", "execute-api:invoke", "EXECUTE-API:*", "*", "execute-api:Inv*"} {
		if !matchesAny([]string{a}, invokeAction, true) {
			t.Errorf("action %q does not cover %s", a, invokeAction)
		}
	}
	if matchesAny([]string{"execute-api:ManageConnections"}, invokeAction, true) {
		t.Error("ManageConnections covers Invoke")
	}
}

// FuzzWildcard checks the linear matcher against a regexp translation of the same pattern.
func FuzzWildcard(f *testing.F) {
	for _, tc := range wildcardCases {
		f.Add(tc.p, tc.s)
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > 64 || len(s) > 256 {
			return
		}
		var re strings.Builder
		re.WriteString(`(?s)^`)
		for i := 0; i < len(p); i++ {
			switch p[i] {
			case '*':
				re.WriteString(`.*`)
			case '?':
				re.WriteString(`.`)
			default:
				re.WriteString(regexp.QuoteMeta(string(p[i])))
			}
		}
		re.WriteString(`$`)
		// Compare bytewise: the regexp works on UTF-8 runes, the matcher on bytes, so only
		// compare when both are ASCII (ARNs are).
		for _, c := range []byte(p + s) {
			if c >= 0x80 {
				return
			}
		}
		want := regexp.MustCompile(re.String()).MatchString(s)
		if got := wildcard(p, s); got != want {
			t.Fatalf("wildcard(%q, %q) = %v, regexp says %v", p, s, got, want)
		}
	})
}

// FuzzParseOutput: any authorizer answer yields exactly one of a Result and an *Error, never a
// panic, and a Result only when the policy has an Allow.
func FuzzParseOutput(f *testing.F) {
	f.Add([]byte(policy("Allow", testArn, `{"a":1,"b":"x","c":true}`)))
	f.Add([]byte(policy("Deny", "*", `{}`)))
	f.Add([]byte(`{"principalId":"p","policyDocument":{"Statement":{"Action":["*"],"Effect":"Allow","Resource":"*"}}}`))
	f.Add([]byte(`"Unauthorized"`))
	f.Add([]byte(`{"principalId":1e400,"policyDocument":{"Statement":[]}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := parseOutput(body, testArn, "userId")
		if (res == nil) == (err == nil) {
			t.Fatalf("res=%v err=%v: want exactly one", res, err)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Status != 401 && e.Status != 403 && e.Status != 500) {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		if !hasAllow(body) {
			t.Fatalf("admitted without an Allow: %q", body)
		}
		for k, v := range res.Context {
			switch v.(type) {
			case string, bool, int64, float64:
			default:
				t.Fatalf("context %q is %T", k, v)
			}
		}
	})
}

// hasAllow reports whether any "Effect" in the JSON document is Allow (in any case).
func hasAllow(body []byte) bool {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return false
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && strings.EqualFold(k, "Effect") && strings.EqualFold(s, "Allow") {
					return true
				}
				if walk(e) {
					return true
				}
			}
		case []any:
			for _, e := range x {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}
