package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/server/servertest"
)

func pprofGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// admin.pprof serves the profiler on the admin listener only, never on the client-facing one.
// The admin listener takes a port of its own choosing (on another loopback address than the
// main listener's, which config refuses to share): a port picked free and listened on later
// could be taken by a parallel test in between.
func TestPprofOnAdminListenerOnly(t *testing.T) {
	n := servertest.Start(t, "stage: dev\nadmin: {listen: \"127.0.0.2:0\", pprof: true}\n")
	admin := n.Server.AdminAddr()
	if code, body := pprofGet(t, "http://"+admin+"/debug/pprof/heap?debug=1"); code != 200 || !strings.Contains(body, "heap profile") {
		t.Fatalf("admin /debug/pprof/heap: %d %.80q", code, body)
	}
	if code, _ := pprofGet(t, "http://"+n.Addr+"/debug/pprof/heap?debug=1"); code == 200 {
		t.Fatalf("main listener serves pprof")
	}
}

func TestNoPprofByDefault(t *testing.T) {
	n := servertest.Start(t, "stage: dev\nadmin: {listen: \"127.0.0.2:0\"}\n")
	admin := n.Server.AdminAddr()
	if code, _ := pprofGet(t, "http://"+admin+"/debug/pprof/heap?debug=1"); code == 200 {
		t.Fatalf("pprof served without admin.pprof")
	}
}
