package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// The management commands against a running gateway with credentials: calls are signed like
// the SDKs sign them (an unsigned or wrongly signed call is refused), `connections list` shows
// the live sockets, get/send/delete reach them, and `users get` answers presence.
func TestManagementCommands(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "wsgate.yaml")
	writeConfig(t, file, reloadConfig("m", `management:
  credentials: [ { accessKeyId: AKIDCLI, secretAccessKey: clisecret } ]
`))
	s := startServe(t, "--config", file)
	endpoint := "http://" + s.addr + "/dev"
	signed := []string{"--endpoint", endpoint, "--access-key-id", "AKIDCLI", "--secret-access-key", "clisecret"}
	// The flags go before a "--" (connection ids follow it: one may start with '-').
	mgmt := func(args ...string) (int, string, string) {
		t.Helper()
		i := len(args)
		for j, a := range args {
			if a == "--" {
				i = j
				break
			}
		}
		return runCLI(append(append(append([]string(nil), args[:i]...), signed...), args[i:]...)...)
	}

	a, b := dialWS(t, "ws://"+s.addr+"/dev", nil), dialWS(t, "ws://"+s.addr+"/dev", nil)
	idOf := func(c *websocket.Conn) string {
		sendWS(t, c, "who")
		return strings.Split(readWS(t, c), "|")[1]
	}
	idA, idB := idOf(a), idOf(b)

	code, out, errs := mgmt("connections", "list")
	if code != 0 || !strings.Contains(out, idA) || !strings.Contains(out, idB) || !strings.HasPrefix(out, "CONNECTION ID") ||
		!strings.Contains(errs, "2 connections on 1 nodes") {
		t.Fatalf("connections list: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = mgmt("connections", "list", "--json")
	var listed struct {
		Nodes []struct {
			Connections []struct{ ConnectionID string }
		}
	}
	if err := json.Unmarshal([]byte(out), &listed); code != 0 || err != nil || len(listed.Nodes) != 1 || len(listed.Nodes[0].Connections) != 2 {
		t.Errorf("connections list --json: exit %d, %v\n%s", code, err, out)
	}

	code, out, errs = mgmt("connections", "get", "--", idA)
	var got struct {
		ConnectionId string
		Identity     struct{ SourceIp string }
	}
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got.ConnectionId != idA || got.Identity.SourceIp != "127.0.0.1" {
		t.Errorf("connections get: exit %d, %v\n%s%s", code, err, out, errs)
	}

	if code, out, errs := mgmt("send", "--", idA, `{"news":"one"}`); code != 0 || out != "delivered to 1 connection(s)\n" {
		t.Errorf("send ID: exit %d %q %q", code, out, errs)
	}
	if m := readWS(t, a); m != `{"news":"one"}` {
		t.Errorf("socket got %q", m)
	}
	if code, out, errs := mgmt("send", "--all", "everyone"); code != 0 || out != "delivered to 2 connection(s)\n" {
		t.Errorf("send --all: exit %d %q %q", code, out, errs)
	}
	for _, c := range []*websocket.Conn{a, b} {
		if m := readWS(t, c); m != "everyone" {
			t.Errorf("broadcast: socket got %q", m)
		}
	}
	if code, _, errs := mgmt("send", "--user", "ann", "x"); code != 1 || !strings.Contains(errs, "410 GoneException") {
		t.Errorf("send --user with no connection: exit %d %q", code, errs)
	}
	if code, _, errs := mgmt("send", "--group", "room-1", "x"); code != 0 {
		t.Errorf("send --group: exit %d %q", code, errs)
	}

	code, out, errs = mgmt("users", "get", "ann,bob")
	var users struct {
		Users []struct {
			UserID string
			Online bool
		}
	}
	if err := json.Unmarshal([]byte(out), &users); code != 0 || err != nil || len(users.Users) != 2 || users.Users[0].UserID != "ann" || users.Users[1].Online {
		t.Errorf("users get: exit %d %v\n%s%s", code, err, out, errs)
	}

	if code, out, errs := runCLI("healthcheck", "--url", "http://"+s.addr+"/healthz"); code != 0 || !strings.Contains(out, "200") {
		t.Errorf("healthcheck: exit %d %q %q", code, out, errs)
	}
	if code, _, _ := runCLI("healthcheck", "--url", "http://"+s.addr+"/nope"); code != 1 {
		t.Errorf("healthcheck of a 404: exit %d, want 1", code)
	}

	// Unsigned, and signed with a wrong secret: refused with AWS's error types.
	if code, _, errs := runCLI("connections", "list", "--endpoint", endpoint); code != 1 || !strings.Contains(errs, "403") {
		t.Errorf("unsigned list: exit %d %q", code, errs)
	}
	if code, _, errs := runCLI("connections", "get", "--endpoint", endpoint, "--access-key-id", "AKIDCLI", "--secret-access-key", "wrong", "--", idA); code != 1 || !strings.Contains(errs, "InvalidSignatureException") {
		t.Errorf("wrong secret: exit %d %q", code, errs)
	}

	// Endpoint, region and credentials from the config (listen rewritten to the live port), and
	// credentials from the environment.
	cfgFile := filepath.Join(dir, "live.yaml")
	b2, _ := os.ReadFile(file)
	writeConfig(t, cfgFile, strings.Replace(string(b2), "listen: 127.0.0.1:0", "listen: "+s.addr, 1))
	if code, out, errs := runCLI("connections", "list", "--config", cfgFile); code != 0 || !strings.Contains(out, idB) {
		t.Errorf("list --config: exit %d\n%s%s", code, out, errs)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDCLI")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "clisecret")
	t.Setenv("WSGATE_ENDPOINT", endpoint)
	if code, out, errs := runCLI("connections", "delete", "--", idB); code != 0 || out != "deleted "+idB+"\n" {
		t.Errorf("delete (env credentials): exit %d %q %q", code, out, errs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := b.Read(ctx); websocket.CloseStatus(err) == -1 {
		t.Errorf("the deleted socket was not closed: %v", err)
	}
	harness.Eventually(t, "a list without the deleted connection", func() bool {
		code, out, _ := runCLI("connections", "list")
		return code == 0 && !strings.Contains(out, idB) && strings.Contains(out, idA)
	})
	if code, _, errs := runCLI("connections", "get", "--", idB); code != 1 || !strings.Contains(errs, "GoneException") {
		t.Errorf("get of the deleted connection: exit %d %q", code, errs)
	}
}
