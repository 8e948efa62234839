package config

import (
	"strings"
	"testing"
)

func TestFunctionsSection(t *testing.T) {
	good := `integrations:
  app: {type: AWS_PROXY, uri: Echo}
routes:
  $default: {integration: app}
functions:
  Echo:
    runtime: nodejs8.10
    handler: src/app.handler
    codeUri: fn/
    timeout: 10s
    memorySize: 256
    concurrency: 2
    environment: {TABLE: t}
  Chat:
    runtime: provided.al2023
    codeUri: chat
    buildMethod: go1.x
`
	c, err := parseT(good)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Functions["Echo"]
	if f.Runtime != "nodejs8.10" || f.Handler != "src/app.handler" || f.CodeURI != "fn/" || f.Timeout.D().Seconds() != 10 ||
		f.MemorySize != 256 || f.Concurrency != 2 || f.Environment["TABLE"] != "t" || c.Functions["Chat"].BuildMethod != "go1.x" {
		t.Errorf("functions = %+v", c.Functions)
	}
	for uri, want := range map[string]string{"Echo": "Echo", "Echo:live": "Echo", "arn:aws:lambda:us-east-1:123456789012:function:Echo": "Echo",
		"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Echo/invocations": "Echo"} {
		if name, ok := c.LocalFunction(uri); !ok || name != want {
			t.Errorf("LocalFunction(%q) = %q, %v", uri, name, ok)
		}
	}
	if _, ok := c.LocalFunction("Other"); ok {
		t.Error("LocalFunction(Other) found a function")
	}

	bad := `functions:
  Java:
    runtime: java21
    handler: x
    codeUri: j
  Py:
    runtime: python3.12
    handler: app
    codeUri: p
    inlineCode: "def h(e, c): pass"
    timeout: 1000s
    memorySize: 64
  Empty:
    runtime: nodejs20.x
    handler: index.handler
`
	_, err = parseT(bad)
	got := strings.Join(messages(t, err), "\n")
	for _, want := range []string{
		`t.yaml:3: functions.Java.runtime: "java21" cannot run in wsgate`,
		`t.yaml:8: functions.Py.handler: "app": write file.function, e.g. app.lambda_handler`,
		`t.yaml:10: functions.Py.inlineCode: give codeUri or inlineCode, not both`,
		`t.yaml:11: functions.Py.timeout: 16m40s is out of range; Lambda allows 1s to 900s`,
		`t.yaml:12: functions.Py.memorySize: 64 is out of range; Lambda allows 128 to 10240 (MB)`,
		`functions.Empty.codeUri: required`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}
