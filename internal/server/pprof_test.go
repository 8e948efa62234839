package server_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/server/servertest"
)

// pprofFreeAddr returns a loopback address nobody listens on at the moment.
func pprofFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

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
func TestPprofOnAdminListenerOnly(t *testing.T) {
	admin := pprofFreeAddr(t)
	n := servertest.Start(t, "stage: dev\nadmin: {listen: \""+admin+"\", pprof: true}\n")
	if code, body := pprofGet(t, "http://"+admin+"/debug/pprof/heap?debug=1"); code != 200 || !strings.Contains(body, "heap profile") {
		t.Fatalf("admin /debug/pprof/heap: %d %.80q", code, body)
	}
	if code, _ := pprofGet(t, "http://"+n.Addr+"/debug/pprof/heap?debug=1"); code == 200 {
		t.Fatalf("main listener serves pprof")
	}
}

func TestNoPprofByDefault(t *testing.T) {
	admin := pprofFreeAddr(t)
	servertest.Start(t, "stage: dev\nadmin: {listen: \""+admin+"\"}\n")
	if code, _ := pprofGet(t, "http://"+admin+"/debug/pprof/heap?debug=1"); code == 200 {
		t.Fatalf("pprof served without admin.pprof")
	}
}
