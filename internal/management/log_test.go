package management

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// TestLogsServerErrors: a 500 is logged at Error with the operation, the request id the caller
// saw and the cause, so that an operator can match a user's report to the log.
func TestLogsServerErrors(t *testing.T) {
	var buf harness.Buffer
	b := newMemBackend(testConn())
	b.fail[testConnID] = errBoom
	h := New(Options{Stage: testStage, Backend: b, Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	req := httptest.NewRequest(http.MethodGet, "/dev/@connections/"+testConnID, nil)
	req.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	checkError(t, rec.Result(), http.StatusInternalServerError, "InternalServerErrorException", "Internal server error")

	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(buf.String())), &line); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	want := map[string]any{
		"level": "ERROR", "operation": "GetConnection", "requestId": rec.Header().Get("x-amzn-RequestId"),
		"status": float64(500), "error": "boom",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v (line %s)", k, line[k], v, buf.String())
		}
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("the answer leaks the internal error: %s", rec.Body)
	}
}
