package benchfloor_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/wsgate/wsgate/internal/benchfloor"
)

func TestFloorEchoesAndAnswersHealth(t *testing.T) {
	s, err := benchfloor.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	checkFloor(t, s)
}

// The floor on nbio's own HTTP parser answers the same.
func TestFloorOnNBIOParser(t *testing.T) {
	if raceEnabled {
		// nbio's own HTTP server mode races in its accept path (nbhttp's listen goroutine
		// writes the connection the poller already reads); wsgate does not use that mode, and
		// this floor variant is a measurement only.
		t.Skip("nbio's own HTTP server mode is not race-clean")
	}
	if _, err := benchfloor.StartWith("127.0.0.1:0", benchfloor.Options{NBIOParser: true}); err == nil {
		t.Fatal("port 0 accepted with NBIOParser")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port for nbio to listen on itself
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := benchfloor.StartWith(addr, benchfloor.Options{NBIOParser: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if s.Addr() != addr {
		t.Fatalf("Addr = %q, want %q", s.Addr(), addr)
	}
	checkFloor(t, s)
}

func checkFloor(t *testing.T, s *benchfloor.Server) {
	t.Helper()

	resp, err := http.Get("http://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("/healthz: %d %q", resp.StatusCode, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, _, err := ws.Dial(ctx, "ws://"+s.Addr()+"/any/path")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	for _, msg := range []string{"hello", strings.Repeat("x", 70000)} {
		if err := wsutil.WriteClientText(conn, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		got, op, err := wsutil.ReadServerData(conn)
		if err != nil || op != ws.OpText || string(got) != msg {
			t.Fatalf("echo of %d bytes: op %v, %d bytes back, %v", len(msg), op, len(got), err)
		}
	}
}

func TestFloorRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "10.0.0.1:0", "nohost"} {
		if s, err := benchfloor.Start(addr); err == nil {
			s.Stop()
			t.Errorf("%s accepted", addr)
		}
	}
}

func TestPushFloor(t *testing.T) {
	s, err := benchfloor.StartWith("127.0.0.1:0", benchfloor.Options{Push: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var conns []net.Conn
	var ids []string
	for range 3 {
		c, _, _, err := ws.Dial(ctx, "ws://"+s.Addr()+"/bench")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := wsutil.WriteClientText(c, []byte(`{"action":"whoami"}`)); err != nil {
			t.Fatal(err)
		}
		got, _, err := wsutil.ReadServerData(c)
		var v struct{ ConnectionID string }
		if err != nil || json.Unmarshal(got, &v) != nil || v.ConnectionID == "" {
			t.Fatalf("whoami: %s %v", got, err)
		}
		conns, ids = append(conns, c), append(ids, v.ConnectionID)
	}
	post := func(path, body string) int {
		resp, err := http.Post("http://"+s.Addr()+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post("/bench/@connections/"+ids[1], `{"to":1}`); st != 200 {
		t.Fatalf("push: %d", st)
	}
	if got, _, err := wsutil.ReadServerData(conns[1]); err != nil || string(got) != `{"to":1}` {
		t.Fatalf("push delivery: %s %v", got, err)
	}
	if st := post("/bench/@connections/nope", `x`); st != http.StatusGone {
		t.Fatalf("push to a missing id: %d", st)
	}
	if st := post("/bench/@broadcast", `{"all":1}`); st != 200 {
		t.Fatalf("broadcast: %d", st)
	}
	for i, c := range conns {
		if got, _, err := wsutil.ReadServerData(c); err != nil || string(got) != `{"all":1}` {
			t.Fatalf("broadcast delivery %d: %s %v", i, got, err)
		}
	}
	// Other messages are still echoed.
	if err := wsutil.WriteClientText(conns[0], []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if got, _, err := wsutil.ReadServerData(conns[0]); err != nil || string(got) != "hi" {
		t.Fatalf("echo: %s %v", got, err)
	}
}
