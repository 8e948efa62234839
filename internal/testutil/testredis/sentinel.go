package testredis

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// SentinelMaster is the name under which StartSentinel's sentinel monitors its master.
const SentinelMaster = "wsgate-test"

// Sentinel is one master redis-server watched by one sentinel (quorum 1). Its fields are
// read-only.
type Sentinel struct {
	// Master is the monitored redis-server.
	Master *Server
	// Sentinel is the sentinel process (redis-server --sentinel).
	Sentinel *Server
	// MasterName is the name clients ask the sentinel for (SentinelMaster).
	MasterName string
}

// URL is the sentinel URL that redisx.NewClient takes as Sentinel:
// "redis://<sentinel host:port>/0?master_name=<name>".
func (s *Sentinel) URL() string {
	return "redis://" + s.Sentinel.Addr + "/0?master_name=" + s.MasterName
}

// StartSentinel starts a master and a sentinel monitoring it, and returns once the sentinel
// answers the master's address. Both are stopped when the test ends. A missing redis-server
// fails the test with what to install (the sentinel is the same binary).
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	master := Start(t)
	dir := t.TempDir()
	// The sentinel rewrites its config file (it records what it learns), so the file is its
	// own, in a directory the test owns.
	conf := filepath.Join(dir, "sentinel.conf")
	text := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1\n", SentinelMaster, master.port)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatalf("testredis: write %s: %v", conf, err)
	}
	sent := startServer(t, &Server{conf: conf, sentinel: true, extra: []string{"--sentinel", "--dir", dir}})
	s := &Sentinel{Master: master, Sentinel: sent, MasterName: SentinelMaster}

	want := strconv.Itoa(master.port)
	deadline := time.Now().Add(startTimeout)
	for {
		got, err := command(sent.Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelMaster)
		if err == nil && len(got) == 2 && got[1] == want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("testredis: sentinel %s does not name master %s within %v: %v %v", sent.Addr, master.Addr, startTimeout, got, err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not an assertion
	}
}
