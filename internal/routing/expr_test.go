package routing

import (
	"strings"
	"testing"
)

// evalCases come from the AWS selection-expression docs (apigateway-websocket-api-selection-
// expressions.md, websocket-api-develop-routes.md) plus the edges docs/aws-compatibility.md names.
var evalCases = []struct {
	name, expr, body string
	want             string
	ok               bool
}{
	{"action", "$request.body.action", `{"action":"join","data":1}`, "join", true},
	{"action spaced", "$request.body.action", " {\n \"data\" : {\"action\":\"nested\"} ,\t\"action\" : \"send\" }\n", "send", true},
	{"missing key", "$request.body.action", `{"callType":"request_vm","vmId":"X"}`, "", true},
	{"nested", "$request.body.data.room", `{"data":{"room":"lobby"}}`, "lobby", true},
	{"nested deeper", "$request.body.meta.type", `{"meta":{"x":[1,{"type":"no"}],"type":"yes"}}`, "yes", true},
	{"version braces", "${request.body.version}-beta", `{"version":"v2"}`, "v2-beta", true},
	{"service/action", "${request.body.service}/${request.body.action}", `{"service":"chat","action":"join"}`, "chat/join", true},
	{"missing in mix", "${request.body.action}-${request.body.invalidPath}", `{"action":"join"}`, "join-", true},
	{"literal", "action", `not json`, "action", true},
	{"escaped default", `\$default`, `not json`, "$default", true},
	{"bare default", `$default`, `[1]`, "$default", true},
	{"bracket key", "$request.body['a'].b[0]", `{"a":{"b":["first","second"]}}`, "first", true},
	{"bracket dq key with dot", `$request.body["a.b"]`, `{"a.b":"dotted","a":{"b":"no"}}`, "dotted", true},
	{"index", "$request.body.list[1]", `{"list":[10,20,30]}`, "20", true},
	{"index out of range", "$request.body.list[5]", `{"list":[10]}`, "", true},
	{"index on object", "$request.body.a[0]", `{"a":{"0":"x"}}`, "", true},
	{"key on array", "$request.body.a.b", `{"a":[{"b":1}]}`, "", true},
	{"number as written", "$request.body.n", `{"n":1.50e3}`, "1.50e3", true},
	{"negative", "$request.body.n", `{"n":-7}`, "-7", true},
	{"true", "$request.body.t", `{"t":true}`, "true", true},
	{"false", "$request.body.t", `{"t":false}`, "false", true},
	{"null", "$request.body.t", `{"t":null}`, "", true},
	{"array", "$request.body.a", `{"a":["item1", "item2"]}`, "[item1, item2]", true},
	{"object", "$request.body.o", `{"o":{"a":1,"b":"x","c":null,"d":[true]}}`, "{a=1, b=x, c=null, d=[true]}", true},
	{"escaped string", "$request.body.s", `{"s":"a\"b\u00e9\n"}`, "a\"b\u00e9\n", true},
	{"escaped key", "$request.body.action", `{"act\u0069on":"esc"}`, "esc", true},
	{"duplicate key last wins", "$request.body.a", `{"a":"first","a":"second"}`, "second", true},
	{"unicode", "$request.body.a", `{"a":"日本"}`, "日本", true},
	{"whole body", "$request.body", `{"a":1}`, "{a=1}", true},
	{"hyphen key", "$request.body.my-key", `{"my-key":"h"}`, "h", true},
	{"not json", "$request.body.action", `hello`, "", false},
	{"array body", "$request.body.action", `[{"action":"x"}]`, "", false},
	{"string body", "$request.body.action", `"x"`, "", false},
	{"number body", "$request.body.action", `1`, "", false},
	{"empty body", "$request.body.action", ``, "", false},
	{"truncated", "$request.body.action", `{"action":"x"`, "", false},
	{"trailing garbage", "$request.body.action", `{"action":"x"} x`, "", false},
	{"garbage after key", "$request.body.action", `{"action":"x", nope}`, "", false},
	{"non-body var", "${integration.response.statuscode}", `{}`, "", false},
}

func TestEval(t *testing.T) {
	for _, tc := range evalCases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile(tc.expr)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.expr, err)
			}
			got, ok := e.Eval([]byte(tc.body))
			if got != tc.want || ok != tc.ok {
				t.Errorf("Compile(%q).Eval(%q) = %q, %v; want %q, %v", tc.expr, tc.body, got, ok, tc.want, tc.ok)
			}
			if e.String() != tc.expr {
				t.Errorf("String() = %q, want %q", e.String(), tc.expr)
			}
		})
	}
}

func TestEvalWith(t *testing.T) {
	vars := map[string]string{
		"integration.response.statuscode":           "200",
		"integration.response.header.Content-Type":  "application/json",
		"integration.response.multivalueheader.X-A": "a,b",
	}
	lookup := func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	cases := []struct{ expr, body, want string }{
		{"${integration.response.statuscode}", "", "200"},
		{"$integration.response.statuscode", "", "200"},
		{"${integration.response.header.Content-Type}", "", "application/json"},
		{"${integration.response.multivalueheader.X-A}", "", "a,b"},
		{"${integration.response.header.Missing}", "", ""},
		{"${request.body.type}:${integration.response.statuscode}", `{"type":"t"}`, "t:200"},
		{`\$default`, "", "$default"},
	}
	for _, tc := range cases {
		e, err := Compile(tc.expr)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tc.expr, err)
		}
		var body []byte
		if tc.body != "" {
			body = []byte(tc.body)
		}
		got, ok := e.EvalWith(body, lookup)
		if !ok || got != tc.want {
			t.Errorf("%q.EvalWith(%q) = %q, %v; want %q, true", tc.expr, tc.body, got, ok, tc.want)
		}
	}
	// request.body with a nil body cannot be evaluated, whatever vars says.
	e, _ := Compile("${request.body.a}")
	if got, ok := e.EvalWith(nil, lookup); ok {
		t.Errorf("EvalWith(nil body) = %q, true; want ok=false", got)
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct{ expr, wantInErr string }{
		{"$", `write \$ for a literal dollar sign`},
		{"a $ b", `write \$ for a literal dollar sign`},
		{"${request.body.action", `no closing "}"`},
		{"${}", "empty ${}"},
		{"$request.bodyx", "unknown variable"},
		{"$foo.bar", "unknown variable $foo.bar"},
		{"${default}", `write \$default`},
		{"$request.body..a", "empty key"},
		{"$request.body.*", "wildcard"},
		{"$request.body[abc]", "['key']"},
		{"$request.body[-1]", "['key']"},
		{"$request.body['a", "unterminated quoted key"},
		{"$request.body['a'x]", "must be followed by ]"},
		{"$request.body[1", `unterminated "["`},
		{"$context.", "unknown variable"},
	}
	for _, tc := range cases {
		_, err := Compile(tc.expr)
		if err == nil {
			t.Errorf("Compile(%q): no error, want one containing %q", tc.expr, tc.wantInErr)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantInErr) {
			t.Errorf("Compile(%q) error = %q, want it to contain %q", tc.expr, err, tc.wantInErr)
		}
	}
}

func TestCompileAccepts(t *testing.T) {
	for _, expr := range []string{
		"$request.header.x-api-key", "${context.connectionId}", "$stageVariables.env",
		"$integration.response.body.errorMessage", "${integration.response.body}", "plain",
		`a\b`, "/2\\d\\d/", "",
	} {
		if _, err := Compile(expr); err != nil {
			t.Errorf("Compile(%q): %v", expr, err)
		}
	}
}

// TestEvalAllocs pins the hot path: route selection on a small message allocates at most the
// returned string.
func TestEvalAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	e, _ := Compile("$request.body.action")
	body := []byte(benchBody)
	n := testing.AllocsPerRun(100, func() { e.Eval(body) })
	if n > 1 {
		t.Errorf("Eval allocates %v times per call, want <= 1", n)
	}
}
