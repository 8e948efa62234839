package config

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// A template that starts with a blank line or indentation survives Marshal and Parse unchanged,
// and marshalling does not modify the config it was given.
func TestMarshalKeepsLeadingWhitespace(t *testing.T) {
	tmpl := "\n  {\"connectionId\": \"$context.connectionId\"}\n"
	c := Default()
	in := c.Integrations["echo"]
	in.RequestTemplates = map[string]string{"$default": tmpl}
	c.Integrations["echo"] = in
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Integrations["echo"].RequestTemplates["$default"]; got != tmpl {
		t.Fatalf("Marshal modified its input: %q", got)
	}
	back, err := Parse("round.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := back.Integrations["echo"].RequestTemplates["$default"]; got != tmpl {
		t.Fatalf("template after round trip = %q, want %q\n%s", got, tmpl, out)
	}
}
