package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// served is `wsgate serve` running in-process on a free loopback port.
type served struct {
	addr   string
	stderr *harness.Buffer
}

// startServe runs the CLI's serve with args plus --listen 127.0.0.1:0 until the test ends,
// then stops it as SIGINT would (graceful shutdown) and checks that it returned nil.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	s := &served{stderr: &harness.Buffer{}}
	stateDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append(args, "--listen", "127.0.0.1:0", "--state-dir", stateDir), s.stderr, func(a string) { addr <- a })
	}()
	select {
	case s.addr = <-addr:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v\n%s", err, s.stderr)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("serve did not stop\n%s", s.stderr)
		}
		if testing.Verbose() || t.Failed() {
			t.Logf("wsgate stderr:\n%s", s.stderr)
		}
	})
	return s
}

// invokeAPI is a Lambda-Invoke-compatible endpoint for Go handlers written with aws-lambda-go:
// POST /2015-03-31/functions/{name}/invocations runs lambda.NewHandler(fn).Invoke in-process,
// the same code path lambda.Start takes for each event it gets from the Runtime API. A handler
// error is answered as Lambda does: 200 with X-Amz-Function-Error and the error document.
func invokeAPI(t *testing.T, fns map[string]any) string {
	t.Helper()
	handlers := map[string]lambda.Handler{}
	for name, fn := range fns {
		handlers[name] = lambda.NewHandler(fn)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/")
		name, ok2 := strings.CutSuffix(name, "/invocations")
		if r.Method != http.MethodPost || !ok || !ok2 {
			http.Error(w, "not the Lambda Invoke API: "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		h := handlers[name]
		if h == nil {
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": "Function not found: " + name})
			return
		}
		payload, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := h.Invoke(r.Context(), payload)
		if err != nil {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": err.Error(), "errorType": "errorString"})
			return
		}
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// dialWS connects a real WebSocket client; it is closed at cleanup.
func dialWS(t *testing.T, url string, h http.Header) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func sendWS(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func readWS(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(data)
}

// closeWS closes normally and waits for the server's answering close frame.
func closeWS(t *testing.T, c *websocket.Conn) {
	t.Helper()
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Logf("close: %v", err)
	}
}

// recv waits for a value on ch; the deadline only bounds a hung test.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
