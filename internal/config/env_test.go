package config

import (
	"strings"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "plain", want: "plain"},
		{in: "${JWT_SECRET}", want: "s3cret"},
		{in: "a-${KEY_ID}-b-${PORT}", want: "a-AKIDEXAMPLE-b-9001"},
		{in: "${UNSET:-fallback}", want: "fallback"},
		{in: "${UNSET:-}", want: ""},
		{in: "${EMPTY:-used when empty}", want: "used when empty"},
		{in: "${EMPTY}", want: ""},
		{in: "${PORT:-1}", want: "9001"},
		{in: "${UNSET:-redis://h:1/0?a=b}", want: "redis://h:1/0?a=b"},
		// AWS expressions are not environment references.
		{in: "${request.body.action}", want: "${request.body.action}"},
		{in: "${request.body.service}/${request.body.action}", want: "${request.body.service}/${request.body.action}"},
		{in: "${stageVariables.backend}/ws", want: "${stageVariables.backend}/ws"},
		{in: "${integration.response.statuscode}", want: "${integration.response.statuscode}"},
		{in: "$request.body.action", want: "$request.body.action"},
		{in: "$default", want: "$default"},
		{in: `\$default`, want: `\$default`},
		{in: "$context.connectionId $input.body", want: "$context.connectionId $input.body"},
		{in: "${ not a name}", want: "${ not a name}"},
		{in: "${1X}", want: "${1X}"},
		{in: "${", want: "${"},
		{in: "${X", want: "${X"},
		{in: "${foo-bar}", want: "${foo-bar}"}, // a VTL identifier, not shell syntax we support
		// $${ is a literal ${.
		{in: "$${HOME}", want: "${HOME}"},
		{in: "$$${PORT}", want: "$${PORT}"},
		{in: "cost: $$5", want: "cost: $$5"},
		{in: "$${request.body.x}", want: "${request.body.x}"},
		// Errors name the variable.
		{in: "x ${UNSET} y", err: "environment variable UNSET is not set; set it, give a default with ${UNSET:-value}, or write $${UNSET} for a literal ${UNSET}"},
		{in: "${X:?msg}", err: "${X:?m... is not supported; write ${X} or ${X:-default} (or $${ for a literal ${)"},
		{in: "${X:-abc", err: "${X:-... has no closing }; write ${X:-default}"},
	} {
		got, err := expandEnv(tc.in, lookupEnv)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("expandEnv(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("expandEnv(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		// Writing the result back out must read back to the same value.
		if back, err := expandEnv(escapeEnv(got), lookupEnv); err != nil || back != got {
			t.Errorf("escapeEnv(%q) = %q reads back as %q, %v", got, escapeEnv(got), back, err)
		}
	}
}

func TestEscapeEnvLeavesAWSExpressions(t *testing.T) {
	for _, s := range []string{"${request.body.x}", "${stageVariables.backend}/ws", "$default", "plain"} {
		if got := escapeEnv(s); got != s {
			t.Errorf("escapeEnv(%q) = %q, want unchanged", s, got)
		}
	}
	if got := escapeEnv("${HOME}"); got != "$${HOME}" {
		t.Errorf("escapeEnv(${HOME}) = %q", got)
	}
}

// Expansion happens after YAML parsing: a value from the environment cannot add keys, and
// line numbers are those of the file.
func TestEnvCannotInjectYAML(t *testing.T) {
	env["INJECT"] = "dev\nlisten: 0.0.0.0:1"
	defer delete(env, "INJECT")
	_, err := parseT("stage: ${INJECT}\n")
	got := strings.Join(messages(t, err), "\n")
	want := `t.yaml:1: stage: "dev\nlisten: 0.0.0.0:1" is not a stage name; use 1 to 128 letters, digits, - or _ (it is the first path segment: ws://HOST/dev)`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// The process environment is what Parse reads.
func TestParseReadsProcessEnv(t *testing.T) {
	t.Setenv("WSGATE_TEST_STAGE", "from-env")
	c, err := Parse("p.yaml", []byte("stage: ${WSGATE_TEST_STAGE}\nrouteSelectionExpression: ${request.body.action}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Stage != "from-env" || c.RouteSelectionExpression != "${request.body.action}" {
		t.Errorf("stage %q, expression %q", c.Stage, c.RouteSelectionExpression)
	}
}
