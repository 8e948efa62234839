package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// exported returns c without the load bookkeeping (file, lines), for comparisons.
func exported(c *Config) Config {
	cp := *c
	cp.file, cp.lines = "", nil
	return cp
}

func roundTrip(t *testing.T, c *Config) []byte {
	t.Helper()
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := parse("roundtrip.yaml", out, lookupEnv)
	if err != nil {
		t.Fatalf("marshalled config does not parse:\n%v\n---\n%s", err, out)
	}
	if a, b := exported(c), exported(back); !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip changed the config:\nbefore %+v\nafter  %+v\n---\n%s", a, b, out)
	}
	return out
}

func TestMarshalRoundTrip(t *testing.T) {
	t.Run("default", func(t *testing.T) { roundTrip(t, Default()) })
	t.Run("uncommented example", func(t *testing.T) {
		env["WSGATE_ACCESS_KEY_ID"], env["WSGATE_SECRET_ACCESS_KEY"] = "AKID", "SECRET"
		defer func() { delete(env, "WSGATE_ACCESS_KEY_ID"); delete(env, "WSGATE_SECRET_ACCESS_KEY") }()
		c, err := parse("u.yaml", uncommented(), lookupEnv)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c)
	})
	t.Run("literals, sizes, lists", func(t *testing.T) {
		c, err := parseT(`
stage: prod
region: eu-west-1
stageVariables: {home: "$${HOME}", money: "$$$${X}", base: "http://h:1"}
limits: { messageBytes: 1000000, frameBytes: 3KB, sendQueueBytes: 4MB, idleTimeout: 1m30s }
routes:
  "chat.send": { integration: fn, routeResponse: true }
  $connect: { authorizer: a }
integrations:
  fn: { type: AWS_PROXY, uri: fn, region: eu-west-1, timeout: 3s }
  h:
    type: HTTP
    uri: "${stageVariables.base}/x"
    requestTemplates: { $default: "literal $${HOME} and ${request.body.x}" }
    responses: { $default: {} }
authorizers:
  a: { type: JWT, jwksUrl: "https://x/jwks", audience: [one], algorithms: [RS256], identitySource: [route.request.header.A, route.request.querystring.b] }
`)
		if err != nil {
			t.Fatal(err)
		}
		if c.StageVariables["home"] != "${HOME}" || c.StageVariables["money"] != "$$${X}" {
			t.Fatalf("stage variables = %q", c.StageVariables)
		}
		out := string(roundTrip(t, c))
		for _, want := range []string{"messageBytes: 1000000\n", "frameBytes: 3KB\n", "sendQueueBytes: 4MB\n", "idleTimeout: 1m30s\n",
			"timeout: 3s\n", "home: $${HOME}\n", "literal $${HOME} and ${request.body.x}", "audience: one\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		// Defaults are left out, including the integration's region equal to the API's.
		for _, unwanted := range []string{"method:", "passthroughBehavior:", "leeway:", "userIdClaim:", "listen:", "store:", "log:", "apiId:"} {
			if strings.Contains(out, unwanted) {
				t.Errorf("output has default %q:\n%s", unwanted, out)
			}
		}
		if strings.Count(out, "region: eu-west-1") != 1 {
			t.Errorf("integration region equal to the API's should be left out:\n%s", out)
		}
		if c.Integrations["fn"].Method != "POST" {
			t.Error("MarshalYAML modified its receiver")
		}
	})
	t.Run("built in code", func(t *testing.T) {
		c := &Config{
			Routes:       map[string]Route{"$default": {Integration: "m", RouteResponse: true}},
			Integrations: map[string]Integration{"m": {Type: Mock, Responses: map[string]IntegrationResponse{"$default": {}}}},
			Limits:       Limits{MessageBytes: 256 * 1024, IdleTimeout: Duration(time.Minute)},
		}
		c.ApplyDefaults()
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		out, err := Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		want := `routes:
  $default:
    integration: m
    routeResponse: true
integrations:
  m:
    type: MOCK
    responses:
      $default: {}
limits:
  messageBytes: 256KB
  idleTimeout: 1m0s
`
		if string(out) != want {
			t.Errorf("Marshal =\n%s\nwant\n%s", out, want)
		}
		roundTrip(t, c)
	})
}
