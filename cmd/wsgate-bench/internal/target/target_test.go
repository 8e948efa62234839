package target

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tg, err := Parse("ws://localhost:8080/dev/room?x=1")
	if err != nil {
		t.Fatal(err)
	}
	if tg.HostPort != "127.0.0.1:8080" || tg.Mgmt != "http://127.0.0.1:8080/dev" || len(tg.sources) != 249 ||
		tg.SourceAddr(0).IP.String() != "127.0.0.2" || tg.SourceAddr(248).IP.String() != "127.0.0.250" {
		t.Fatalf("%+v", tg)
	}
	if tg, err := Parse("ws://[::1]:80/dev"); err != nil || tg.SourceAddr(1) != nil {
		t.Fatalf("::1: %v", err)
	}
	if InOwnNetns() {
		t.Skip("in a network namespace of its own, private addresses are accepted")
	}
	for _, bad := range []string{"ws://10.0.0.1:80/dev", "ws://example.com/dev", "wss://127.0.0.1/dev", "http://127.0.0.1/dev"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	_, err = Parse("ws://192.168.1.5:8080/dev")
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("error should say why: %v", err)
	}
}

func TestSetMgmt(t *testing.T) {
	tg, err := Parse("ws://127.0.0.1:8080/dev")
	if err != nil {
		t.Fatal(err)
	}
	if tg.MgmtHost != "127.0.0.1:8080" {
		t.Fatal(tg.MgmtHost)
	}
	if err := tg.SetMgmt("http://127.0.0.1:8081/dev/"); err != nil || tg.Mgmt != "http://127.0.0.1:8081/dev" || tg.MgmtHost != "127.0.0.1:8081" || tg.HostPort != "127.0.0.1:8080" {
		t.Fatalf("%+v %v", tg, err)
	}
	for _, bad := range []string{"http://203.0.113.1:80/dev", "ws://127.0.0.1:80/dev", "http://127.0.0.1/dev"} {
		if err := tg.SetMgmt(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestInOwnNetns enters a named network namespace made for the test (root only) and checks
// that there, and only there, a private address is a target.
func TestInOwnNetns(t *testing.T) {
	if InOwnNetns() {
		t.Skip("already in a named network namespace")
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to make a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip (iproute2)")
	}
	name := fmt.Sprintf("wsbtest%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v %s", err, out)
	}
	defer func() { _ = exec.Command("ip", "netns", "del", name).Run() }()
	out, err := exec.Command("ip", "netns", "exec", name, os.Args[0], "-test.run", "^TestParseInNetns$", "-test.v").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestParseInNetns") {
		t.Fatalf("in the namespace: %v\n%s", err, out)
	}
}

// TestParseInNetns runs only under TestInOwnNetns.
func TestParseInNetns(t *testing.T) {
	if !InOwnNetns() {
		t.Skip("runs inside the namespace TestInOwnNetns makes")
	}
	tg, err := Parse("ws://10.213.0.11:18080/bench")
	if err != nil || tg.SourceAddr(0) != nil {
		t.Fatalf("%+v %v", tg, err)
	}
	if _, err := Parse("ws://203.0.113.7:80/dev"); err == nil {
		t.Fatal("a public address was accepted in a namespace")
	}
}
