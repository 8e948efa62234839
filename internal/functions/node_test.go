package functions

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

const nodeHandlers = `
exports.echo = async (event, context) => {
  console.log('got', JSON.stringify(event));
  return { event, ctx: { awsRequestId: context.awsRequestId, functionName: context.functionName,
    functionVersion: context.functionVersion, memoryLimitInMB: context.memoryLimitInMB,
    invokedFunctionArn: context.invokedFunctionArn, logGroupName: context.logGroupName,
    remaining: context.getRemainingTimeInMillis(), waits: context.callbackWaitsForEmptyEventLoop },
    env: { region: process.env.AWS_REGION, key: process.env.AWS_ACCESS_KEY_ID, handler: process.env._HANDLER,
      ca: process.env.NODE_EXTRA_CA_CERTS, mine: process.env.MINE, tz: process.env.TZ, pid: process.pid } };
};
exports.callback = (event, context, callback) => { setTimeout(() => callback(null, { via: 'callback', n: event.n }), 5); };
exports.promise = (event) => new Promise((resolve) => resolve({ via: 'promise' }));
exports.fail = async () => { throw new TypeError('bad thing'); };
exports.cbfail = (event, context, callback) => callback(new Error('cb failed'));
exports.slow = async () => new Promise((r) => setTimeout(r, 60000));
exports.crash = async () => { process.exit(3); };
exports.nested = { inner: async () => 'nested' };
`

func TestNodeHandlers(t *testing.T) {
	need(t, "node")
	dir := writeFiles(t, map[string]string{"src/app.js": nodeHandlers})
	specs := []Spec{}
	for _, h := range []string{"echo", "callback", "promise", "fail", "cbfail", "nested.inner"} {
		specs = append(specs, Spec{Name: "n-" + strings.ReplaceAll(h, ".", "-"), Runtime: "nodejs8.10", Handler: "src/app." + h, CodeDir: dir,
			Environment: map[string]string{"MINE": "yes", "AWS_REGION": "not-this"}})
	}
	s, logs := newSet(t, Options{Region: "eu-west-1", Credentials: Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "s"}, CAFile: "/tmp/ca.pem"}, specs...)

	f, _ := s.Function("n-echo")
	out, err := invoke(t, f, `{"requestContext":{"connectionId":"abc="}}`)
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
	if got.Event["requestContext"].(map[string]any)["connectionId"] != "abc=" {
		t.Errorf("event = %v", got.Event)
	}
	c := got.Ctx
	if c["functionName"] != "n-echo" || c["functionVersion"] != "$LATEST" || c["memoryLimitInMB"] != "128" ||
		c["invokedFunctionArn"] != "arn:aws:lambda:eu-west-1:000000000000:function:n-echo" || c["logGroupName"] != "/aws/lambda/n-echo" ||
		len(c["awsRequestId"].(string)) != 36 || c["waits"] != true {
		t.Errorf("context = %v", c)
	}
	if r := c["remaining"].(float64); r <= 0 || r > 3000 {
		t.Errorf("getRemainingTimeInMillis = %v, want within the 3 s default timeout", r)
	}
	e := got.Env
	if e["region"] != "eu-west-1" || e["key"] != "AKIDLOCAL" || e["handler"] != "src/app.echo" || e["ca"] != "/tmp/ca.pem" || e["mine"] != "yes" || e["tz"] != ":UTC" {
		t.Errorf("env = %v", e)
	}
	// Warm reuse: the same process answers the next call.
	out2, err := invoke(t, f, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	var got2 struct{ Env map[string]any }
	_ = json.Unmarshal(out2, &got2)
	if got2.Env["pid"] != e["pid"] {
		t.Errorf("second invocation ran in pid %v, want the warm %v", got2.Env["pid"], e["pid"])
	}
	harness.Eventually(t, "REPORT lines", func() bool { return strings.Count(logs.String(), "REPORT RequestId: ") >= 2 })
	l := logs.String()
	for _, want := range []string{"START RequestId: " + c["awsRequestId"].(string) + " Version: $LATEST", "END RequestId: ", "Billed Duration: ", "Memory Size: 128 MB", "Max Memory Used: ", "Init Duration: ", `\tINFO\tgot {\"requestContext\"`} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
	if strings.Count(l, "Init Duration") != 1 {
		t.Errorf("want Init Duration in the first REPORT only:\n%s", l)
	}
	if !strings.Contains(l, "asked=nodejs8.10") {
		t.Errorf("want a warning naming the asked runtime:\n%s", l)
	}

	for name, want := range map[string]string{"n-callback": `{"via":"callback","n":7}`, "n-promise": `{"via":"promise"}`, "n-nested-inner": `"nested"`} {
		f, _ := s.Function(name)
		out, err := invoke(t, f, `{"n":7}`)
		if err != nil || string(out) != want {
			t.Errorf("%s: %s, %v; want %s", name, out, err, want)
		}
	}
	for name, want := range map[string][2]string{"n-fail": {"TypeError", "bad thing"}, "n-cbfail": {"Error", "cb failed"}} {
		f, _ := s.Function(name)
		_, err := invoke(t, f, `{}`)
		fe := fnErr(t, err)
		doc := errorDoc(t, fe)
		if doc["errorType"] != want[0] || doc["errorMessage"] != want[1] || len(doc["trace"].([]any)) == 0 {
			t.Errorf("%s: error %s", name, fe.Payload)
		}
	}
}

func TestNodeESModuleAndInitErrors(t *testing.T) {
	need(t, "node")
	dir := writeFiles(t, map[string]string{
		"esm/package.json": `{"type":"module"}`,
		"esm/index.js":     `export const handler = async (e) => ({ esm: true, got: e.x });`,
		"mjs/h.mjs":        `export async function handler() { return 'mjs'; }`,
		"bad/syntax.js":    "exports.handler = async () => {\n  return (;\n};\n",
		"nohandler.js":     `exports.other = 1;`,
	})
	s, logs := newSet(t, Options{},
		Spec{Name: "esm", Runtime: "nodejs20.x", Handler: "esm/index.handler", CodeDir: dir},
		Spec{Name: "mjs", Runtime: "nodejs22.x", Handler: "mjs/h.handler", CodeDir: dir},
		Spec{Name: "syntax", Runtime: "nodejs20.x", Handler: "bad/syntax.handler", CodeDir: dir},
		Spec{Name: "missing", Runtime: "nodejs20.x", Handler: "nothere.handler", CodeDir: dir},
		Spec{Name: "nohandler", Runtime: "nodejs20.x", Handler: "nohandler.handler", CodeDir: dir},
	)
	for name, want := range map[string]string{"esm": `{"esm":true,"got":1}`, "mjs": `"mjs"`} {
		f, _ := s.Function(name)
		out, err := invoke(t, f, `{"x":1}`)
		if err != nil || string(out) != want {
			t.Errorf("%s: %s, %v; want %s", name, out, err, want)
		}
	}
	for name, want := range map[string][2]string{
		"syntax":    {"Runtime.UserCodeSyntaxError", "SyntaxError: "},
		"missing":   {"Runtime.ImportModuleError", "Error: Cannot find module 'nothere'"},
		"nohandler": {"Runtime.HandlerNotFound", "nohandler.handler is undefined or not exported"},
	} {
		f, _ := s.Function(name)
		for i := 0; i < 2; i++ { // every call reports the init error; nothing else stops
			_, err := invoke(t, f, `{}`)
			fe := fnErr(t, err)
			doc := errorDoc(t, fe)
			if doc["errorType"] != want[0] || !strings.HasPrefix(doc["errorMessage"].(string), want[1]) {
				t.Errorf("%s: error %s", name, fe.Payload)
			}
		}
	}
	// The syntax error's file and line reach the log.
	harness.Eventually(t, "the syntax error's location in the log", func() bool { return strings.Contains(logs.String(), "bad/syntax.js:2") })
}

func TestTimeoutCrashAndConcurrency(t *testing.T) {
	need(t, "node")
	dir := writeFiles(t, map[string]string{"app.js": nodeHandlers + `
exports.wait = async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return process.pid; };
`})
	s, logs := newSet(t, Options{},
		Spec{Name: "slow", Runtime: "nodejs20.x", Handler: "app.slow", CodeDir: dir, Timeout: time.Second},
		Spec{Name: "crash", Runtime: "nodejs20.x", Handler: "app.crash", CodeDir: dir},
		Spec{Name: "wait", Runtime: "nodejs20.x", Handler: "app.wait", CodeDir: dir, Concurrency: 2},
	)
	f, _ := s.Function("slow")
	start := time.Now()
	_, err := invoke(t, f, `{}`)
	fe := fnErr(t, err)
	if doc := errorDoc(t, fe); doc["errorType"] != "Sandbox.Timedout" || !strings.HasSuffix(doc["errorMessage"].(string), "Task timed out after 1.00 seconds") {
		t.Errorf("timeout error %s", fe.Payload)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("timeout took %s", d)
	}
	harness.Eventually(t, "the timeout REPORT", func() bool { return strings.Contains(logs.String(), "Status: timeout") })

	f, _ = s.Function("crash")
	for i := 0; i < 2; i++ { // a crashed process is replaced: the second call runs (and crashes) again
		_, err := invoke(t, f, `{}`)
		fe := fnErr(t, err)
		if doc := errorDoc(t, fe); doc["errorType"] != "Runtime.ExitError" || !strings.HasSuffix(doc["errorMessage"].(string), "Runtime exited with error: exit status 3") {
			t.Errorf("crash error %s", fe.Payload)
		}
	}

	// Two processes at most: a third concurrent call is throttled, then the warm two are reused.
	f, _ = s.Function("wait")
	var wg sync.WaitGroup
	pids := make([]string, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := invoke(t, f, `{"ms":1500}`)
			if err != nil {
				t.Error(err)
			}
			pids[i] = string(out)
		}()
	}
	harness.Eventually(t, "two busy processes", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.live == 2 && len(f.idle) == 0 })
	if _, err := invoke(t, f, `{"ms":1}`); err == nil || !strings.Contains(err.Error(), "TooManyRequestsException") {
		t.Errorf("third concurrent call: %v, want throttled", err)
	}
	wg.Wait()
	out, err := invoke(t, f, `{"ms":1}`)
	if err != nil || (string(out) != pids[0] && string(out) != pids[1]) {
		t.Errorf("after the burst: %s, %v; want one of the warm pids %v", out, err, pids)
	}
}
