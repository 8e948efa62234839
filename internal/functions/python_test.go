package functions

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

const pyHandlers = `
import json, os, logging
logger = logging.getLogger()
logger.setLevel(logging.INFO)

def echo(event, context):
    print("got", json.dumps(event))
    logger.info("via logging")
    return {"event": event, "ctx": {"aws_request_id": context.aws_request_id, "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb, "invoked_function_arn": context.invoked_function_arn,
            "remaining": context.get_remaining_time_in_millis()},
            "env": {"key": os.environ.get("AWS_ACCESS_KEY_ID"), "ca": os.environ.get("REQUESTS_CA_BUNDLE"), "pid": os.getpid()}}

def fail(event, context):
    raise ValueError("nope")
`

func TestPythonHandlers(t *testing.T) {
	need(t, "python3")
	dir := writeFiles(t, map[string]string{
		"app.py":          pyHandlers,
		"pkg/__init__.py": "",
		"pkg/mod.py":      "def handler(e, c):\n    return 'pkg'\n",
		"bad.py":          "def handler(e, c):\n    return (\n",
	})
	s, logs := newSet(t, Options{Credentials: Credentials{AccessKeyID: "AKIDPY", SecretAccessKey: "s"}, CAFile: "/tmp/ca.pem"},
		Spec{Name: "echo", Runtime: "python3.8", Handler: "app.echo", CodeDir: dir},
		Spec{Name: "fail", Runtime: "python3.12", Handler: "app.fail", CodeDir: dir},
		Spec{Name: "pkg", Runtime: "python3.12", Handler: "pkg/mod.handler", CodeDir: dir},
		Spec{Name: "bad", Runtime: "python3.12", Handler: "bad.handler", CodeDir: dir},
		Spec{Name: "missing", Runtime: "python3.12", Handler: "nothere.handler", CodeDir: dir},
		Spec{Name: "nohandler", Runtime: "python3.12", Handler: "app.absent", CodeDir: dir},
	)
	f, _ := s.Function("echo")
	out, err := invoke(t, f, `{"body":"hi"}`)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Event map[string]any
		Ctx   map[string]any
		Env   map[string]any
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if got.Event["body"] != "hi" || got.Ctx["function_name"] != "echo" || got.Ctx["memory_limit_in_mb"] != 128.0 ||
		len(got.Ctx["aws_request_id"].(string)) != 36 || got.Ctx["remaining"].(float64) <= 0 ||
		got.Env["key"] != "AKIDPY" || got.Env["ca"] != "/tmp/ca.pem" {
		t.Errorf("got %s", out)
	}
	out2, err := invoke(t, f, `{}`)
	if err != nil || !strings.Contains(string(out2), `"pid": `+jsonNum(got.Env["pid"])) {
		t.Errorf("second call %s, %v: want the warm pid %v\n%s", out2, err, got.Env["pid"], logs)
	}
	f, _ = s.Function("pkg")
	if out, err := invoke(t, f, `{}`); err != nil || string(out) != `"pkg"` {
		t.Errorf("pkg: %s, %v", out, err)
	}
	f, _ = s.Function("fail")
	_, err = invoke(t, f, `{}`)
	doc := errorDoc(t, fnErr(t, err))
	if doc["errorType"] != "ValueError" || doc["errorMessage"] != "nope" || len(doc["stackTrace"].([]any)) == 0 || doc["requestId"] == "" {
		t.Errorf("fail: %v", doc)
	}
	for name, want := range map[string][2]string{
		"bad":       {"Runtime.UserCodeSyntaxError", "Syntax error in module 'bad': "},
		"missing":   {"Runtime.ImportModuleError", "Unable to import module 'nothere': No module named 'nothere'"},
		"nohandler": {"Runtime.HandlerNotFound", "Handler 'absent' missing on module 'app'"},
	} {
		f, _ := s.Function(name)
		_, err := invoke(t, f, `{}`)
		doc := errorDoc(t, fnErr(t, err))
		if doc["errorType"] != want[0] || !strings.HasPrefix(doc["errorMessage"].(string), want[1]) {
			t.Errorf("%s: %v", name, doc)
		}
	}
	harness.Eventually(t, "function output in the log", func() bool {
		l := logs.String()
		return strings.Contains(l, `got {\"body\": \"hi\"}`) && strings.Contains(l, "[INFO]") && strings.Contains(l, "via logging") &&
			strings.Contains(l, "bad.py, line 2")
	})
}

func jsonNum(v any) string { b, _ := json.Marshal(v); return string(b) }

// A provided.al2023 function is any executable speaking the Runtime API: here a Python script
// (the Go example's aws-lambda-go bootstrap is exercised end to end in internal/server).
const providedBootstrap = `#!/usr/bin/env python3
import http.client, json, os
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
c = http.client.HTTPConnection(host, int(port))
while True:
    c.request("GET", "/2018-06-01/runtime/invocation/next")
    r = c.getresponse()
    body = r.read()
    rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
    out = json.dumps({"raw": json.loads(body), "deadline": r.headers["Lambda-Runtime-Deadline-Ms"],
                      "arn": r.headers["Lambda-Runtime-Invoked-Function-Arn"], "trace": r.headers["Lambda-Runtime-Trace-Id"],
                      "version": "V1"})
    # an unknown request id is refused in the Runtime API's error shape
    c.request("POST", "/2018-06-01/runtime/invocation/nope/response", "{}")
    bad = c.getresponse(); badBody = bad.read()
    print("bad", bad.status, badBody.decode(), flush=True)
    c.request("POST", "/2018-06-01/runtime/invocation/%s/response" % rid, out)
    c.getresponse().read()
`

func TestProvidedBootstrapAndWatch(t *testing.T) {
	need(t, "python3")
	dir := writeFiles(t, map[string]string{"bootstrap": providedBootstrap})
	s, logs := newSet(t, Options{Watch: true, WatchInterval: 50 * time.Millisecond},
		Spec{Name: "prov", Runtime: "provided.al2023", CodeDir: dir},
		Spec{Name: "nobootstrap", Runtime: "provided.al2", CodeDir: t.TempDir()},
	)
	f, _ := s.Function("prov")
	out, err := invoke(t, f, `{"a":1}`)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal(out, &got)
	if got["raw"].(map[string]any)["a"] != 1.0 || got["arn"] != "arn:aws:lambda:us-east-1:000000000000:function:prov" ||
		!strings.HasPrefix(got["trace"].(string), "Root=1-") || got["version"] != "V1" {
		t.Errorf("got %s", out)
	}
	if dl, _ := time.Parse("", ""); dl.IsZero() && got["deadline"] == "" {
		t.Errorf("no deadline header")
	}
	harness.Eventually(t, "the refused unknown request id", func() bool {
		return strings.Contains(logs.String(), `bad 400 {\"errorMessage\":\"Invalid request ID: nope\",\"errorType\":\"InvalidRequestID\"}`)
	})
	// A code change takes effect without a restart.
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(strings.Replace(providedBootstrap, `"V1"`, `"V2"`, 1)), 0o755); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, "the reload", func() bool { return strings.Contains(logs.String(), "function code changed") })
	out, err = invoke(t, f, `{"a":1}`)
	if err != nil || !strings.Contains(string(out), `"version": "V2"`) {
		t.Errorf("after the change: %s, %v", out, err)
	}
	f, _ = s.Function("nobootstrap")
	_, err = invoke(t, f, `{}`)
	if doc := errorDoc(t, fnErr(t, err)); doc["errorType"] != "Runtime.InvalidEntrypoint" {
		t.Errorf("no bootstrap: %v", doc)
	}
}

func TestUnsupportedRuntimesAndMissingInterpreter(t *testing.T) {
	dir := t.TempDir()
	_, err := New([]Spec{
		{Name: "J", Runtime: "java21", Handler: "x", CodeDir: dir},
		{Name: "N", Runtime: "nodejs20.x", Handler: "index.handler", CodeDir: dir},
		{Name: "P", Runtime: "python3.12", Handler: "app", CodeDir: dir},
	}, Options{Node: "/nonexistent/node", StateDir: t.TempDir()})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		"function J: Runtime java21 cannot run in wsgate", "--function J=URL",
		"function N (Runtime nodejs20.x) needs node, which is not on PATH",
		`function P: Handler "app": write module.function`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestLinesBounded(t *testing.T) {
	var got []string
	in := "short\n" + strings.Repeat("x", 100) + "\nlast"
	lines(strings.NewReader(in), 32, func(s string) { got = append(got, s) })
	want := []string{"short", strings.Repeat("x", 32) + " [truncated: 68 more bytes]", "last"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
