package dashboard_test

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// The page in a real browser: Debian's Chromium, driven headless over the DevTools protocol by
// chromedp, against a real node with real WebSocket clients. .ci/run installs Chromium; where
// it cannot start the test is skipped and says why.

const jwtSecret = "dashboard-test-secret-at-least-32-bytes"

// disconnects records the connection ids the $disconnect integration was called for.
type disconnects struct {
	mu  sync.Mutex
	ids []string
}

func (d *disconnects) has(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, x := range d.ids {
		if x == id {
			return true
		}
	}
	return false
}

func token(t *testing.T, user string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": user, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// client is a live WebSocket with the id the whoami route told it.
type client struct {
	c  *websocket.Conn
	id string
}

func connect(t *testing.T, addr, user string) client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/dev?token="+token(t, user), nil)
	if err != nil {
		t.Fatalf("dial as %s: %v", user, err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"action":"whoami"}`)); err != nil {
		t.Fatal(err)
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("whoami: %v", err)
	}
	return client{c: c, id: string(b)}
}

// browser starts headless Chromium, or skips the test saying why it could not. With
// WSGATE_REQUIRE_CHROMIUM=1 (.ci/run sets it after installing Chromium) it fails instead, so
// that CI, whose passing packages print no skip messages, never skips it silently.
func browser(t *testing.T) context.Context {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("WSGATE_REQUIRE_CHROMIUM") == "1" {
		skip = t.Fatalf
	}
	exe := os.Getenv("CHROMIUM")
	if exe == "" {
		for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
			if _, err := os.Stat(p); err == nil {
				exe = p
				break
			}
		}
	}
	if exe == "" {
		if p, err := exec.LookPath("chromium"); err == nil {
			exe = p
		}
	}
	if exe == "" {
		skip("SKIP: Chromium cannot start: no chromium binary (apt-get install chromium, or set CHROMIUM=/path); .ci/run installs it")
	}
	// The flags that work as root on a machine with no network beyond loopback.
	// Not t.TempDir: Chromium may still be writing its profile while the test's cleanup runs,
	// and a failed RemoveAll would fail the test.
	profile, err := os.MkdirTemp("", "wsgate-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 1500),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelB()
		cancelA()
		for range 50 { // the profile is gone once Chromium has exited
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// The first Run starts the browser and binds it to ctx (a shorter-lived context would close
	// it when done), so bound the start with a timer instead.
	timer := time.AfterFunc(60*time.Second, cancelB)
	err = chromedp.Run(ctx)
	timer.Stop()
	if err != nil {
		skip("SKIP: Chromium cannot start (%s): %v", exe, err)
	}
	return ctx
}

// waitText polls the text of the element sel until it equals want or 30 s pass.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := chromedp.Run(c, chromedp.Text(sel, &got, chromedp.ByQuery, chromedp.NodeVisible))
		cancel()
		if err == nil && strings.TrimSpace(got) == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: text %q, want %q", sel, got, want)
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(c, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestPageInChromium(t *testing.T) {
	var gone disconnects
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gone.mu.Lock()
		gone.ids = append(gone.ids, r.Header.Get("connectionId"))
		gone.mu.Unlock()
	}))
	defer backend.Close()
	srv := servertest.Start(t, `stage: dev
routeSelectionExpression: $request.body.action
routes:
  $connect: { authorizer: jwt }
  $disconnect: { integration: gone }
  $default: { integration: echo, routeResponse: true }
  whoami: { integration: whoami, routeResponse: true }
  broken: { integration: broken, routeResponse: true }
authorizers:
  jwt: { type: JWT, identitySource: route.request.querystring.token, secret: `+jwtSecret+` }
integrations:
  whoami: { type: MOCK, requestTemplates: { $default: '{"statusCode": 200}' }, responses: { $default: { templates: { $default: '$context.connectionId' } } } }
  echo: { type: MOCK, responses: { $default: { templates: { $default: '$input.body' } } } }
  broken: { type: HTTP_PROXY, uri: http://127.0.0.1:9/nothing-listens, timeout: 2s }
  gone:
    type: HTTP_PROXY
    uri: `+backend.URL+`/disconnect
    requestParameters: { integration.request.header.connectionId: context.connectionId }
`).Server
	addr := srv.Addr()
	ctx := browser(t)

	alice1, alice2, bob := connect(t, addr, "alice"), connect(t, addr, "alice"), connect(t, addr, "bob")
	for _, c := range []client{alice1, bob} {
		req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/dev/@connections/"+url.PathEscape(c.id)+"/groups/room1", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("join room1: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = bob.c.Write(wctx, websocket.MessageText, []byte(`{"action":"broken"}`))
	_ = alice2.c.Write(wctx, websocket.MessageText, []byte(`hello`))

	if n := srv.Hub().Len(); n != 3 {
		t.Fatalf("hub holds %d connections, want 3", n)
	}
	run(t, ctx, "open the page", chromedp.Navigate("http://"+addr+"/_wsgate/"))
	// The page's numbers are the gateway's: 3 sockets, 2 users, room1 with 2 members.
	waitText(t, ctx, "#connections-now", "3")
	waitText(t, ctx, "#cluster-connections", "3")
	waitText(t, ctx, "#users-online", "2")
	waitText(t, ctx, "#groups tbody tr td:nth-child(2)", "2")
	waitText(t, ctx, "#users tbody tr td:first-child", "alice")
	// The broken route's failed call shows in the route table (this node's last minute).
	waitText(t, ctx, "#routes tbody tr.bad td:first-child", "broken")

	// The access-log tail (lines written while the page is open), filtered to one connection,
	// shows only that connection's lines.
	for _, c := range []client{alice2, bob, alice2} {
		if err := c.c.Write(wctx, websocket.MessageText, []byte(`tail me`)); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ctx, "filter the tail", chromedp.SendKeys("#f-conn", alice2.id, chromedp.ByQuery))
	var ids []string
	for deadline := time.Now().Add(30 * time.Second); len(ids) < 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the tail filtered to %s shows %d lines, want 2 or more", alice2.id, len(ids))
		}
		run(t, ctx, "read the tail", chromedp.Evaluate(`[...document.querySelectorAll('#tail tbody tr')].map(r => r.dataset.connectionId)`, &ids))
	}
	for _, id := range ids {
		if id != alice2.id {
			t.Fatalf("the tail filtered to %s shows a line of %s", alice2.id, id)
		}
	}

	// Search a connection, see its record, disconnect it from the page.
	run(t, ctx, "look up a connection", chromedp.SetValue("#conn-id", alice1.id, chromedp.ByQuery), chromedp.Click("#conn-lookup", chromedp.ByQuery))
	waitText(t, ctx, `dd[data-field="userId"]`, "alice")
	waitText(t, ctx, `dd[data-field="groups"]`, "room1")
	waitText(t, ctx, `dd[data-field="node"]`, srv.Hub().Node())
	shot := t.TempDir() + "/dashboard.png"
	var buf []byte
	run(t, ctx, "screenshot", chromedp.FullScreenshot(&buf, 100))
	if err := os.WriteFile(shot, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(bytes.NewReader(buf)); err != nil || img.Bounds().Dx() < 1000 {
		t.Fatalf("screenshot: %v (%d bytes)", err, len(buf))
	}
	if dst := os.Getenv("WSGATE_DASHBOARD_SCREENSHOT"); dst != "" {
		// go test ./internal/dashboard -run Chromium with WSGATE_DASHBOARD_SCREENSHOT=$PWD/docs/dashboard.png
		if err := os.WriteFile(dst, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot written to %s", dst)
	}
	run(t, ctx, "click disconnect", chromedp.Click("#disconnect-btn", chromedp.ByQuery))
	waitText(t, ctx, "#disconnect-result", "Disconnected "+alice1.id+": the gateway closed it with 1000 and runs its $disconnect.")

	// The socket is closed by the gateway with 1000, and $disconnect ran for it.
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	_, _, err := alice1.c.Read(rctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusNormalClosure {
		t.Fatalf("alice1 read after the disconnect: %v (close status %d), want a close with 1000", err, code)
	}
	harness.Eventually(t, "$disconnect of "+alice1.id, func() bool { return gone.has(alice1.id) })
	waitText(t, ctx, "#connections-now", "2")
	if n := srv.Hub().Len(); n != 2 {
		t.Fatalf("hub holds %d connections after the disconnect, want 2", n)
	}
}

// TestSignInInChromium: with credentials configured the page asks for a key pair; a wrong
// secret is refused with a message, the right one opens the page.
func TestSignInInChromium(t *testing.T) {
	srv := servertest.Start(t, `stage: dev
management:
  credentials: [ { accessKeyId: AKIDPAGE, secretAccessKey: "page/secret" } ]
`).Server
	ctx := browser(t)
	run(t, ctx, "open the page", chromedp.Navigate("http://"+srv.Addr()+"/_wsgate/"), chromedp.WaitVisible("#signin-form", chromedp.ByQuery))
	run(t, ctx, "sign in wrong", chromedp.SetValue("#akid", "AKIDPAGE", chromedp.ByQuery), chromedp.SetValue("#secret", "wrong", chromedp.ByQuery), chromedp.Click("#signin-btn", chromedp.ByQuery))
	waitText(t, ctx, "#signin-error", "unknown access key id or wrong secret")
	run(t, ctx, "sign in", chromedp.SetValue("#secret", "page/secret", chromedp.ByQuery), chromedp.Click("#signin-btn", chromedp.ByQuery))
	waitText(t, ctx, "#who", "signed in as AKIDPAGE")
	waitText(t, ctx, "#connections-now", "0")
	var cookies string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.cookie`, &cookies)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cookies, "wsgate_dashboard") {
		t.Fatalf("the session cookie is readable by scripts: %q", cookies)
	}
}

// TestClientInChromium runs clients/js in the browser it is written for: a page loads
// src/client.js as an ES module, makes a request over a two-way route, and reconnects after the
// gateway closed its connection (DeleteConnection).
func TestClientInChromium(t *testing.T) {
	srv := servertest.Start(t, `stage: dev
routeSelectionExpression: $request.body.action
routes:
  add: { integration: add, routeResponse: true }
integrations:
  add: { type: MOCK, responses: { $default: { templates: { $default: '{"requestId":$input.json(''$.requestId''),"sum":$input.json(''$.a''),"id":"$context.connectionId"}' } } } }
`).Server
	src, err := os.ReadFile("../../clients/js/src/client.js")
	if err != nil {
		t.Fatal(err)
	}
	page := `<!doctype html><p id="out">loading</p><p id="opens">0</p><p id="closes"></p>
<script type="module">
import { WsgateClient } from '/client.js';
const c = new WsgateClient({ url: 'ws://` + srv.Addr() + `/dev', backoff: [100], jitter: 0 });
let opens = 0;
c.on('open', () => { document.getElementById('opens').textContent = String(++opens); });
c.on('close', (e) => { document.getElementById('closes').textContent += e.code + ':' + e.willRetry + ' '; });
const r = await c.request('add', { a: 42 });
document.getElementById('out').textContent = r.sum + ' ' + r.id;
window.client = c;
</script>`
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/client.js" {
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(src)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, page)
	}))
	defer web.Close()
	ctx := browser(t)
	run(t, ctx, "open the page", chromedp.Navigate(web.URL+"/"))
	var out string
	deadline := time.Now().Add(30 * time.Second)
	for !strings.HasPrefix(out, "42 ") {
		if time.Now().After(deadline) {
			t.Fatalf("request in the page: %q", out)
		}
		time.Sleep(50 * time.Millisecond)
		run(t, ctx, "read", chromedp.Text("#out", &out, chromedp.ByQuery))
	}
	id := strings.TrimPrefix(out, "42 ")
	dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Hub().DeleteConnection(dctx, id); err != nil {
		t.Fatalf("DeleteConnection %s: %v", id, err)
	}
	waitText(t, ctx, "#opens", "2")
	waitText(t, ctx, "#closes", "1000:true")
}
