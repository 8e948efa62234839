package config

import (
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"29s": 29 * time.Second, "500ms": 500 * time.Millisecond, "10m": 10 * time.Minute, "2h": 2 * time.Hour, " 1m30s ": 90 * time.Second, "-1s": -time.Second} {
		got, err := ParseDuration(in)
		if err != nil || got.D() != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"29":   `"29" has no unit; write 29s (seconds) or 29ms (milliseconds)`,
		"0":    `"0" has no unit; write 0s (seconds) or 0ms (milliseconds)`,
		"":     "expected a duration such as 29s, 500ms or 10m, got an empty value",
		"10 m": `"10 m" is not a duration; write a number and a unit such as 29s, 500ms, 10m or 2h`,
	} {
		if _, err := ParseDuration(in); err == nil || err.Error() != msg {
			t.Errorf("ParseDuration(%q) error = %v, want %q", in, err, msg)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{"131072": 131072, "128KB": 128 << 10, "128kb": 128 << 10, "1MB": 1 << 20, "1 MiB": 1 << 20, "2G": 2 << 30, "10B": 10, "0": 0} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "KB", "1.5MB", "lots", "99999999999999GB", "1TB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
	for s, want := range map[Size]string{128 << 10: "128KB", 1 << 20: "1MB", 1000: "1000", 0: "0", 3 << 30: "3GB", 1025: "1025"} {
		if got := s.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(s), got, want)
		}
	}
}

// The types also work with plain yaml.Unmarshal, for code that decodes parts of a config itself.
func TestTypesWithYAMLUnmarshal(t *testing.T) {
	var v struct {
		D Duration   `yaml:"d"`
		S Size       `yaml:"s"`
		L StringList `yaml:"l"`
		M StringList `yaml:"m"`
	}
	if err := yaml.Unmarshal([]byte("d: 2s\ns: 1KB\nl: one\nm: [a, b]\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.D.D() != 2*time.Second || v.S != 1024 || len(v.L) != 1 || v.L[0] != "one" || len(v.M) != 2 {
		t.Errorf("decoded %+v", v)
	}
	if err := yaml.Unmarshal([]byte("d: 2\n"), &v); err == nil {
		t.Error("a bare number was accepted as a duration")
	}
	out, err := yaml.Marshal(v)
	if err != nil || string(out) != "d: 2s\ns: 1KB\nl: one\nm:\n    - a\n    - b\n" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
}

func TestPath(t *testing.T) {
	for _, tc := range []struct {
		elems []any
		want  string
	}{
		{[]any{"integrations", "app", "uri"}, "integrations.app.uri"},
		{[]any{"routes", "$default"}, "routes.$default"},
		{[]any{"management", "credentials", 0, "accessKeyId"}, "management.credentials[0].accessKeyId"},
		{[]any{"integrations", "a", "requestParameters", "integration.request.header.x"}, `integrations.a.requestParameters["integration.request.header.x"]`},
		{[]any{"routes", "chat send", "integration"}, `routes["chat send"].integration`},
	} {
		got := Path(tc.elems...)
		if got != tc.want {
			t.Errorf("Path(%v) = %q, want %q", tc.elems, got, tc.want)
		}
		if parentPath(got) != Path(tc.elems[:len(tc.elems)-1]...) {
			t.Errorf("parentPath(%q) = %q", got, parentPath(got))
		}
	}
	if p := parentPath(`a["x[\"]"]`); p != "a" {
		t.Errorf("parentPath of a quoted key with brackets = %q", p)
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"listen", "stage", "routes", "integrations", "authorizers"}
	for got, want := range map[string]string{"routs": "routes", "Routes": "routes", "intgrations": "integrations", "stgae": "stage", "xyz": "", "authoriser": "authorizers"} {
		if s := suggest(got, names); s != want {
			t.Errorf("suggest(%q) = %q, want %q", got, s, want)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	for e, want := range map[Error]string{
		{File: "f.yaml", Line: 3, Path: "a.b", Msg: "bad"}: "f.yaml:3: a.b: bad",
		{File: "f.yaml", Path: "a.b", Msg: "bad"}:          "f.yaml: a.b: bad",
		{Line: 3, Path: "a", Msg: "bad"}:                   "line 3: a: bad",
		{Path: "a", Msg: "bad"}:                            "a: bad",
		{File: "f.yaml", Line: 1, Msg: "bad"}:              "f.yaml:1: bad",
	} {
		if got := e.Error(); got != want {
			t.Errorf("%+v.Error() = %q, want %q", e, got, want)
		}
	}
	if got := (Errors{{Path: "a", Msg: "x"}, {Path: "b", Msg: "y"}}).Error(); got != "a: x\nb: y" {
		t.Errorf("Errors.Error() = %q", got)
	}
}

// Config.Errorf lets other packages report problems at the right line, falling back to the
// nearest written parent for defaulted values.
func TestConfigErrorf(t *testing.T) {
	c, err := parseT("routes:\n  $default:\n    integration: m\n    routeResponse: true\nintegrations:\n  m:\n    type: MOCK\n    responses: {$default: {}}\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Errorf("routeSelectionExpression", "bad").Error(); got != "t.yaml: routeSelectionExpression: bad" {
		t.Errorf("defaulted top-level key: %q", got)
	}
	if got := c.Errorf("integrations.m.timeout", "bad").Error(); got != "t.yaml:6: integrations.m.timeout: bad" {
		t.Errorf("defaulted nested key: %q", got)
	}
	if got := c.Errorf(`integrations.m.responses.$default.templates["a.b"]`, "bad").Error(); got != "t.yaml:8: integrations.m.responses.$default.templates[\"a.b\"]: bad" {
		t.Errorf("nested quoted key: %q", got)
	}
	var nilCfg *Config
	if nilCfg.Line("x") != 0 || nilCfg.File() != "" {
		t.Error("nil Config")
	}
}
