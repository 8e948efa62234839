package cli

// End to end: the examples/ apps and failing handlers served by `wsgate serve --template`,
// their functions run by wsgate itself (internal/functions) on the real node, python3 and go,
// driven by real WebSocket clients.

import (
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

func needBin(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s is not on PATH", b)
		}
	}
}

// waitLog polls the server's log for s.
func waitLog(t *testing.T, srv *served, s string) {
	t.Helper()
	waitLogFor(t, srv, s, 20*time.Second)
}

func waitLogFor(t *testing.T, srv *served, s string, d time.Duration) {
	t.Helper()
	harness.EventuallyWithin(t, d, strconv.Quote(s)+" in the log", func() bool { return strings.Contains(srv.stderr.String(), s) })
}

// internalError checks AWS's answer for a failed integration on a message route.
func internalError(t *testing.T, frame string) {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(frame), &m); err != nil || m["message"] != "Internal server error" || m["connectionId"] == "" || m["requestId"] == "" {
		t.Errorf("frame %s: want AWS's {\"message\": \"Internal server error\", \"connectionId\", \"requestId\"}", frame)
	}
}

func TestExamplePythonEvents(t *testing.T) {
	needBin(t, "python3")
	srv := startServe(t, "--template", "../../examples/python-events/template.yaml")
	c := dialWS(t, "ws://"+srv.addr+"/dev", nil)
	sendWS(t, c, `{"action":"anything","n":1}`)
	var got struct {
		Event struct {
			Body           string
			RequestContext map[string]any
		}
		Function    string
		RequestID   string
		RemainingMs float64
	}
	frame := readWS(t, c)
	if err := json.Unmarshal([]byte(frame), &got); err != nil {
		t.Fatalf("%s: %v", frame, err)
	}
	rc := got.Event.RequestContext
	if got.Event.Body != `{"action":"anything","n":1}` || rc["routeKey"] != "$default" || rc["eventType"] != "MESSAGE" ||
		rc["stage"] != "dev" || rc["connectionId"] == "" || got.Function != "EventsFunction" || len(got.RequestID) != 36 || got.RemainingMs <= 0 {
		t.Errorf("frame %s", frame)
	}
	waitLog(t, srv, "REPORT RequestId: "+got.RequestID)
	waitLog(t, srv, "route $default from")
}

func TestExampleNodeEcho(t *testing.T) {
	needBin(t, "node")
	if _, err := exec.Command("node", "-e", "require.resolve('@aws-sdk/client-apigatewaymanagementapi', {paths: ['../../examples/node-echo']})").CombinedOutput(); err != nil {
		t.Skip("examples/node-echo has no node_modules: run npm ci there (.ci/run does)")
	}
	srv := startServe(t, "--template", "../../examples/node-echo/template.yaml")
	c := dialWS(t, "ws://"+srv.addr+"/dev", nil)
	waitLog(t, srv, "connect ")
	sendWS(t, c, `{"action":"echo","message":"hello"}`)
	var push struct{ Echo, From string }
	frame := readWS(t, c)
	if err := json.Unmarshal([]byte(frame), &push); err != nil || push.Echo != "hello" || push.From == "" {
		t.Fatalf("push %s: %v", frame, err)
	}
	// The SDK's signed call was verified with the key wsgate gave the function.
	sendWS(t, c, `{"action":"nope"}`)
	if frame := readWS(t, c); !strings.Contains(frame, `"error":"unknown action"`) {
		t.Errorf("$default answered %s", frame)
	}
	closeWS(t, c)
	waitLog(t, srv, "disconnect "+push.From)
}

func TestFunctionFailuresGiveAWSErrorFrames(t *testing.T) {
	needBin(t, "node")
	srv := startServe(t, "--template", "testdata/functions/template.yaml")
	c := dialWS(t, "ws://"+srv.addr+"/dev", nil)

	sendWS(t, c, `{"action":"throw"}`)
	internalError(t, readWS(t, c))
	waitLog(t, srv, "handler threw")

	sendWS(t, c, `{"action":"sleep"}`)
	internalError(t, readWS(t, c))
	waitLog(t, srv, "Task timed out after 1.00 seconds")

	sendWS(t, c, `{"action":"hello"}`)
	first := readWS(t, c)
	if !strings.HasPrefix(first, "pid ") {
		t.Fatalf("$default answered %s", first)
	}
	sendWS(t, c, `{"action":"crash"}`)
	internalError(t, readWS(t, c))
	waitLog(t, srv, "Runtime exited with error: exit status 7")
	// The crashed process is replaced: the next message gets a new one.
	sendWS(t, c, `{"action":"hello"}`)
	if again := readWS(t, c); !strings.HasPrefix(again, "pid ") || again == first {
		t.Errorf("after the crash $default answered %s (before: %s); want a new process", again, first)
	}
}

func TestExampleGoChat(t *testing.T) {
	needBin(t, "go")
	srv := startServe(t, "--template", "../../examples/go-chat/template.yaml")
	// wsgate builds the bootstrap (Metadata.BuildMethod go1.x) at start; wait for it so that
	// the first $connect does not race the compiler against the handshake timeout.
	waitLogFor(t, srv, "function built", 5*time.Minute)
	a := dialWS(t, "ws://"+srv.addr+"/dev", nil)
	b := dialWS(t, "ws://"+srv.addr+"/dev", nil)
	waitLog(t, srv, "joined ")
	sendWS(t, a, `{"action":"sendmessage","message":"hi all"}`)
	for _, c := range []*websocket.Conn{a, b} {
		var m struct{ From, Message string }
		frame := readWS(t, c)
		if err := json.Unmarshal([]byte(frame), &m); err != nil || m.Message != "hi all" || m.From == "" {
			t.Errorf("broadcast frame %s: %v", frame, err)
		}
	}
	waitLog(t, srv, "broadcast from ")
}

func TestLocalRequestAuthorizer(t *testing.T) {
	needBin(t, "node")
	srv := startServe(t, "--template", "testdata/functions-auth/template.yaml")
	c := dialWS(t, "ws://"+srv.addr+"/dev?token=ok", nil)
	closeWS(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws://"+srv.addr+"/dev?token=bad", nil)
	if err == nil || resp == nil || resp.StatusCode != 401 {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("bad token: %v (status %d), want 401", err, status)
	}
	waitLog(t, srv, `"function":"AuthFunction"`) // the authorizer ran here, not on AWS
}
