package centrifugo_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/centrifugo"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// centrifugoBinary is a Centrifugo v6 server binary: $WSGATE_BENCH_CENTRIFUGO, else
// "centrifugo" on $PATH. The project neither ships nor builds one, so CI skips these tests.
func centrifugoBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WSGATE_BENCH_CENTRIFUGO"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("WSGATE_BENCH_CENTRIFUGO=%s: %v", p, err)
		}
		return p
	}
	p, err := exec.LookPath("centrifugo")
	if err != nil {
		t.Skip("no Centrifugo server: set WSGATE_BENCH_CENTRIFUGO=/path/to/centrifugo (v6) or put centrifugo on $PATH to run the protocol against a real one")
	}
	return p
}

const (
	secret = "test-hmac-secret"
	apiKey = "test-api-key"
)

// startCentrifugo runs the binary on a free loopback port with the bench config's shape
// (no history, no presence, anonymous connects allowed) and returns its address.
func startCentrifugo(t *testing.T) string {
	bin := centrifugoBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cfg := fmt.Sprintf(`{"http_server":{"address":"127.0.0.1","port":%s},"log":{"level":"warn"},
"client":{"allow_anonymous_connect_without_token":true,"token":{"hmac_secret_key":%q}},
"http_api":{"key":%q},"channel":{"without_namespace":{"presence":false,"join_leave":false,"history_size":0}}}`, port, secret, apiKey)
	file := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := centrifugo.LoadConfig(file)
	if err != nil || c.HMACSecret != secret || c.APIKey != apiKey || !c.Anonymous || fmt.Sprint(c.Port) != port {
		t.Fatalf("LoadConfig: %+v %v", c, err)
	}
	var out harness.Buffer
	cmd := exec.Command(bin, "-c", file)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	harness.EventuallyWithin(t, 20*time.Second, "centrifugo to listen on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})
	return addr
}

type client struct {
	t       *testing.T
	nc      net.Conn
	pending []centrifugo.Reply // replies of the last message not yet returned by next
}

func dial(t *testing.T, addr, token string) (*client, centrifugo.Reply) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, _, _, err := ws.Dial(ctx, "ws://"+addr+"/connection/websocket")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	c := &client{t: t, nc: nc}
	c.send(centrifugo.ConnectCommand(nil, 1, token))
	return c, c.next()
}

func (c *client) send(b []byte) {
	c.t.Helper()
	if err := wsutil.WriteClientText(c.nc, b); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next reply that is not a ping (pings are answered), reading messages as
// needed; one message may carry several replies.
func (c *client) next() centrifugo.Reply {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		for len(c.pending) > 0 {
			r := c.pending[0]
			c.pending = c.pending[1:]
			if r.Kind == centrifugo.Ping {
				c.send(centrifugo.Pong)
				continue
			}
			return r
		}
		msg, err := wsutil.ReadServerText(c.nc)
		if err != nil {
			c.t.Fatal(err)
		}
		c.t.Logf("message: %s", msg)
		if err := centrifugo.Decode(msg, func(r centrifugo.Reply) { c.pending = append(c.pending, r) }); err != nil {
			c.t.Fatal(err)
		}
	}
}

func post(t *testing.T, addr string, req []byte) (int, []byte) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write(req); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// TestAgainstCentrifugo runs the generator's protocol code against a real Centrifugo: connect
// with a token whose channels claim subscribes server-side, anonymous connect, a refused token,
// and publications through /api/publish, /api/broadcast and /api/batch reaching the sockets.
func TestAgainstCentrifugo(t *testing.T) {
	addr := startCentrifugo(t)
	api := centrifugo.API{Host: addr, Key: apiKey}

	tok1, err := centrifugo.Token([]byte(secret), "u1", []string{"c1", "all"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok2, _ := centrifugo.Token([]byte(secret), "u2", []string{"c2", "all"}, time.Hour)
	c1, r := dial(t, addr, tok1)
	slices.Sort(r.Subs)
	if r.Kind != centrifugo.Connected || r.ID != 1 || r.Client == "" || !slices.Equal(r.Subs, []string{"all", "c1"}) {
		t.Fatalf("connect with token: %+v", r)
	}
	c2, r := dial(t, addr, tok2)
	if r.Kind != centrifugo.Connected {
		t.Fatalf("second connect: %+v", r)
	}
	_, r = dial(t, addr, "")
	if r.Kind != centrifugo.Connected || len(r.Subs) != 0 {
		t.Fatalf("anonymous connect: %+v", r)
	}
	// A token signed with another secret: Centrifugo closes the socket with 3500 "invalid token".
	bad, _ := centrifugo.Token([]byte("wrong secret"), "u3", nil, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, _, _, err := ws.Dial(ctx, "ws://"+addr+"/connection/websocket")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = wsutil.WriteClientText(nc, centrifugo.ConnectCommand(nil, 1, bad))
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var closed wsutil.ClosedError
	if _, err := wsutil.ReadServerText(nc); !errors.As(err, &closed) || closed.Code != 3500 {
		t.Fatalf("a token signed with another secret: %v, want a close with 3500", err)
	}

	req, err := api.Publish("c1", []byte(`{"push":"one"}`))
	if err != nil {
		t.Fatal(err)
	}
	if status, body := post(t, addr, req); status != 200 {
		t.Fatalf("publish: %d %s", status, body)
	} else if n, first := centrifugo.CheckAnswer(status, body); n != 0 {
		t.Fatalf("publish answered an error: %s", first)
	}
	if r := c1.next(); r.Kind != centrifugo.Publication || r.Channel != "c1" || string(r.Data) != `{"push":"one"}` {
		t.Fatalf("publication: %+v", r)
	}

	req, _ = api.Broadcast([]string{"c1", "c2"}, []byte(`{"b":1}`))
	if n, first := centrifugo.CheckAnswer(post(t, addr, req)); n != 0 {
		t.Fatalf("broadcast: %s", first)
	}
	for _, c := range []*client{c1, c2} {
		if r := c.next(); r.Kind != centrifugo.Publication || string(r.Data) != `{"b":1}` {
			t.Fatalf("broadcast delivery: %+v", r)
		}
	}

	req, _ = api.Batch([]centrifugo.Item{{"c2", []byte(`"x"`)}, {"c1", []byte(`"y"`)}, {"all", []byte(`[1,2]`)}}, false)
	if n, first := centrifugo.CheckAnswer(post(t, addr, req)); n != 0 {
		t.Fatalf("batch: %s", first)
	}
	var got1, got2 []string
	for range 2 {
		got1 = append(got1, string(c1.next().Data))
		got2 = append(got2, string(c2.next().Data))
	}
	if strings.Join(got1, " ") != `"y" [1,2]` || strings.Join(got2, " ") != `"x" [1,2]` {
		t.Fatalf("batch deliveries: c1 %v c2 %v", got1, got2)
	}

	// The wrong API key is refused with an HTTP status, which CheckAnswer counts.
	wrong := centrifugo.API{Host: addr, Key: "nope"}
	req, _ = wrong.Publish("c1", []byte(`1`))
	if n, first := centrifugo.CheckAnswer(post(t, addr, req)); n != 1 || !strings.Contains(first, "HTTP 401") {
		t.Fatalf("wrong key: %d %s", n, first)
	}
	// A batch item on a channel name Centrifugo refuses is an error in its reply, counted.
	req, _ = api.Batch([]centrifugo.Item{{"c1", []byte(`1`)}, {"", []byte(`2`)}}, false)
	status, body := post(t, addr, req)
	if n, _ := centrifugo.CheckAnswer(status, body); n != 1 {
		var v any
		_ = json.Unmarshal(body, &v)
		t.Fatalf("batch with an empty channel: %d errors in %d %s", n, status, body)
	}
}
