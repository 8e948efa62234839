package target

import (
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
