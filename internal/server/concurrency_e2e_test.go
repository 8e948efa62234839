package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/server/servertest"
)

// limits.concurrencyPerConnection > 1 lets a slow message not hold up the next one: the backend
// holds the first message until the second has arrived, which only works if both are in flight.
func TestConcurrencyPerConnection(t *testing.T) {
	secondArrived := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch string(b) {
		case "first":
			select {
			case <-secondArrived:
				_, _ = w.Write([]byte("first done"))
			case <-time.After(10 * time.Second): // only reached when the gateway serialises
				_, _ = w.Write([]byte("first gave up: the second message never arrived while it was in flight"))
			case <-r.Context().Done():
			}
		case "second":
			close(secondArrived)
			_, _ = w.Write([]byte("second done"))
		}
	}))
	defer backend.Close()
	n := servertest.Start(t, fmt.Sprintf(`
limits: { concurrencyPerConnection: 2 }
routes: { $default: { integration: app, routeResponse: true } }
integrations: { app: { type: HTTP_PROXY, uri: %s } }
`, backend.URL))
	c := dial(t, n.WS("/dev"))
	send(t, c, "first")
	send(t, c, "second")
	// Once the second arrives both answer at once, in either order; serialised, neither would.
	got := map[string]bool{read(t, c): true, read(t, c): true}
	if !got["first done"] || !got["second done"] {
		t.Fatalf("answers = %v, want both messages done (the first waits for the second to be in flight)", got)
	}
}
