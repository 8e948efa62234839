package config

import (
	"regexp"
	"strings"
	"testing"
)

func TestExampleParses(t *testing.T) {
	c, err := Parse(ExampleName, Example())
	if err != nil {
		t.Fatalf("the example does not parse:\n%v", err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Stage != "dev" || c.RouteSelectionExpression != "$request.body.action" {
		t.Errorf("listen %q stage %q expression %q", c.Listen, c.Stage, c.RouteSelectionExpression)
	}
	for key, want := range map[string]string{"$default": "$context.connectionId", "ping": `{"action":"pong"}`} {
		r, ok := c.Routes[key]
		if !ok || !r.RouteResponse {
			t.Fatalf("route %s = %+v, %v; want a two-way route", key, r, ok)
		}
		in := c.Integrations[r.Integration]
		if in.Type != Mock {
			t.Errorf("route %s: integration type %q, want MOCK", key, in.Type)
		}
		tpl := in.Responses["$default"].Templates["$default"]
		if !strings.Contains(tpl, want) {
			t.Errorf("route %s: response template %q does not contain %q", key, tpl, want)
		}
	}
	echo := c.Integrations[c.Routes["$default"].Integration].Responses["$default"].Templates["$default"]
	if !strings.Contains(echo, `"$util.escapeJavaScript($input.body)"`) {
		t.Errorf("echo template %q must escape the body into a string (non-JSON messages reach $default too)", echo)
	}
	if c.Line("routes.$default") == 0 {
		t.Error("the example has no line for routes.$default")
	}
}

func TestDefault(t *testing.T) {
	a, b := Default(), Default()
	if a == b {
		t.Fatal("Default must return a new Config each call")
	}
	a.Routes["x"] = Route{}
	if _, ok := b.Routes["x"]; ok {
		t.Fatal("Default configs share maps")
	}
	if b.File() != ExampleName || b.Line("stage") == 0 {
		t.Errorf("File %q, Line(stage) %d", b.File(), b.Line("stage"))
	}
	ex := Example()
	ex[0] = 'X'
	if Example()[0] == 'X' {
		t.Error("Example returns the embedded bytes themselves")
	}
}

// uncommentRE finds commented-out config in the example: "#" then YAML ("#key:" or "#  key:"),
// as opposed to prose ("# text").
var uncommentRE = regexp.MustCompile(`(?m)^(\s*)#([^ #\n]|  )`)

func uncommented() []byte { return uncommentRE.ReplaceAll(Example(), []byte("$1$2")) }

// Every commented-out example, once uncommented, must be a valid config: users copy them.
func TestExampleCommentedSectionsParse(t *testing.T) {
	src := uncommented()
	env["WSGATE_ACCESS_KEY_ID"], env["WSGATE_SECRET_ACCESS_KEY"] = "AKID", "SECRET"
	defer func() { delete(env, "WSGATE_ACCESS_KEY_ID"); delete(env, "WSGATE_SECRET_ACCESS_KEY") }()
	c, err := parse("uncommented.yaml", src, lookupEnv)
	if err != nil {
		t.Fatalf("uncommented example:\n%v\n\n%s", err, src)
	}
	// Spot checks that uncommenting reached every section.
	if c.TLS == nil || c.Store.Type != "redis" || c.Store.URL != "redis://127.0.0.1:6379/0" || c.Admin.Listen == "" ||
		c.Log.Format != "json" || len(c.Management.Credentials) != 1 || c.APIID != "wsgate" {
		t.Errorf("sections missing after uncommenting: %+v", c)
	}
	for _, name := range []string{"app", "orders", "lambda", "sessions", "echo", "pong"} {
		if _, ok := c.Integrations[name]; !ok {
			t.Errorf("integration %s missing", name)
		}
	}
	if c.Authorizers["jwt"].Secret != "s3cret" || c.Authorizers["custom"].Type != Request {
		t.Errorf("authorizers = %+v", c.Authorizers)
	}
	if got := c.Integrations["orders"].RequestTemplates["$default"]; !strings.Contains(got, `$input.json('$.order')`) {
		t.Errorf("orders template = %q", got)
	}
	if c.Routes["$connect"].Authorizer != "jwt" {
		t.Errorf("$connect = %+v", c.Routes["$connect"])
	}
}
