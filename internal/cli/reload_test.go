package cli

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// reloadConfig is a config whose $default route answers "<version>|<connection id>|<message>",
// plus extra YAML appended at the end.
func reloadConfig(version, extra string) string {
	return `stage: dev
listen: 127.0.0.1:0
routes:
  $default: { integration: echo, routeResponse: true }
integrations:
  echo:
    type: MOCK
    responses:
      $default:
        templateSelectionExpression: \$default
        templates:
          $default: '` + version + `|$context.connectionId|$input.body'
` + extra
}

func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	// Write and rename, as editors and config management do, so a reader never sees half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// trafficClient sends numbered messages one after another on its own socket and checks that
// each gets its answer, in order.
type trafficClient struct {
	c        *websocket.Conn
	id       atomic.Value // string: the connection id the answers name
	sent     atomic.Int64
	answered atomic.Int64
	versions sync.Map     // version -> true
	lastV    atomic.Value // string
	err      atomic.Pointer[error]
}

func (tc *trafficClient) failed() error {
	if p := tc.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (tc *trafficClient) run(ctx context.Context, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		msg := fmt.Sprintf("m%d", i)
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := tc.c.Write(wctx, websocket.MessageText, []byte(msg))
		if err == nil {
			tc.sent.Add(1)
			var data []byte
			_, data, err = tc.c.Read(wctx)
			if err == nil {
				parts := strings.SplitN(string(data), "|", 3)
				if id, _ := tc.id.Load().(string); len(parts) != 3 || parts[2] != msg || (id != "" && parts[1] != id) {
					err = fmt.Errorf("answer %q to %q", data, msg)
				} else {
					tc.id.Store(parts[1])
					tc.answered.Add(1)
					tc.versions.Store(parts[0], true)
					tc.lastV.Store(parts[0])
				}
			}
		}
		cancel()
		if err != nil {
			tc.err.Store(&err)
			return
		}
	}
}

// SIGHUP under traffic: 20 sockets keep sending through two reloads (a valid one that changes
// the route's answer and adds management credentials, then an invalid one) and a third that
// changes the listen address. No socket is dropped, every message is answered, the new answer
// and credentials apply without reconnecting, the invalid config is refused with file:line for
// each error while the previous one keeps serving, and a restart-only change is named.
func TestReloadUnderTrafficDropsNothing(t *testing.T) {
	file := filepath.Join(t.TempDir(), "wsgate.yaml")
	writeConfig(t, file, reloadConfig("v1", ""))
	p := startProcess(t, nil, "serve", "--config", file)
	base := "ws://" + p.addr + "/dev"

	const clients = 20
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	tcs := make([]*trafficClient, clients)
	for i := range tcs {
		tcs[i] = &trafficClient{c: dialWS(t, base, nil)}
		wg.Go(func() { tcs[i].run(ctx, stop) })
	}
	// waitAll waits until every client has had n more answers, or one failed.
	waitAll := func(n int64, what string) {
		t.Helper()
		start := make([]int64, clients)
		for i, tc := range tcs {
			start[i] = tc.answered.Load()
		}
		deadline := time.Now().Add(30 * time.Second)
		for i, tc := range tcs {
			for tc.answered.Load() < start[i]+n {
				if tc.failed() != nil || time.Now().After(deadline) {
					close(stop)
					wg.Wait()
					t.Fatalf("%s: client %d answered %d of %d sent: %v", what, i, tc.answered.Load(), tc.sent.Load(), tc.failed())
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	waitAll(20, "before the reload")
	bin := dialWS(t, base, nil) // opened before the reload that allows binary frames

	// 1. A valid reload: new answer, and management credentials where there were none.
	writeConfig(t, file, reloadConfig("v2", `management:
  credentials: [ { accessKeyId: AKIDRELOAD, secretAccessKey: reloadsecret } ]
limits: { allowBinary: true }
`))
	p.signal(syscall.SIGHUP)
	p.waitLog("config reloaded", 30*time.Second)
	waitAll(20, "after the first reload")
	for i, tc := range tcs {
		if v := tc.lastV.Load(); v != "v2" {
			t.Errorf("client %d still answered by %v after the reload", i, v)
		}
	}
	// A live limit applies to a socket opened before the reload: a binary frame, closed with
	// 1003 by default, is now routed.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := bin.Write(wctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if _, data, err := bin.Read(wctx); err != nil || !strings.HasPrefix(string(data), "v2|") {
		t.Errorf("binary frame after limits.allowBinary was reloaded: %q, %v; want the v2 answer", data, err)
	}
	// New credentials apply to the management API at once: unsigned is refused now, signed works.
	id := tcs[0].id.Load().(string)
	resp, err := http.Get("http://" + p.addr + "/dev/@connections/" + id)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned GET @connections after credentials were added: %d, want 403", resp.StatusCode)
	}
	api := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String("http://" + p.addr + "/dev"), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDRELOAD", "reloadsecret", ""),
	})
	if _, err := api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Errorf("signed GetConnection with the reloaded credentials: %v", err)
	}

	// 2. An invalid config: every error logged with file:line, the running config kept.
	writeConfig(t, file, `stage: dev
routes:
  $default: { integration: nope }
integrations:
  echo: { type: MOCK, timeot: 5s }
`)
	p.signal(syscall.SIGHUP)
	p.waitLog("reload refused: still serving", 30*time.Second)
	var errs []string
	for _, l := range p.logged("reload refused") {
		if e, ok := l["error"].(string); ok {
			errs = append(errs, e)
		}
	}
	for _, want := range []string{
		regexp.QuoteMeta(file) + `:3: routes\.\$default\.integration: `,
		regexp.QuoteMeta(file) + `:5: integrations\.echo\.timeot: `,
	} {
		if !containsMatch(errs, want) {
			t.Errorf("no logged error matches %s; got %q", want, errs)
		}
	}
	waitAll(20, "after the refused reload")
	for i, tc := range tcs {
		if v := tc.lastV.Load(); v != "v2" {
			t.Errorf("client %d answered by %v after a refused reload, want v2", i, v)
		}
	}

	// 3. A restart-only change is applied nowhere and named.
	writeConfig(t, file, strings.Replace(reloadConfig("v3", ""), "listen: 127.0.0.1:0", "listen: 127.0.0.1:1", 1))
	p.signal(syscall.SIGHUP)
	warn := p.waitLog("config reloaded, but these settings only change on restart", 30*time.Second)
	if keys := fmt.Sprint(warn["keys"]); !strings.Contains(keys, "listen") {
		t.Errorf("restart-only keys %s do not name listen", keys)
	}
	waitAll(20, "after the third reload")

	// A socket opened now gets the new config too.
	late := dialWS(t, base, nil)
	sendWS(t, late, "hello")
	if got := readWS(t, late); !strings.HasPrefix(got, "v3|") {
		t.Errorf("a new socket got %q, want the v3 answer", got)
	}

	close(stop)
	wg.Wait()
	var sent, answered int64
	for i, tc := range tcs {
		if err := tc.failed(); err != nil {
			t.Errorf("client %d: %v (a dropped socket or a lost message)", i, err)
		}
		sent += tc.sent.Load()
		answered += tc.answered.Load()
		if _, ok := tc.versions.Load("v1"); !ok {
			t.Errorf("client %d never saw v1", i)
		}
	}
	if sent != answered {
		t.Errorf("%d messages sent, %d answered: %d lost", sent, answered, sent-answered)
	}
	if n := len(p.logged("disconnect")); n != 0 {
		t.Errorf("%d sockets disconnected during the reloads", n)
	}
	t.Logf("%d sockets, %d messages sent and answered across 3 reloads; 0 dropped, 0 lost", clients, sent)
}

func containsMatch(ss []string, pattern string) bool {
	re := regexp.MustCompile(pattern)
	for _, s := range ss {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// --watch-config reloads on a change of the file with no signal.
func TestWatchConfigReloadsOnChange(t *testing.T) {
	file := filepath.Join(t.TempDir(), "wsgate.yaml")
	writeConfig(t, file, reloadConfig("w1", ""))
	s := startServe(t, "--config", file, "--watch-config")
	c := dialWS(t, "ws://"+s.addr+"/dev", nil)
	sendWS(t, c, "a")
	if got := readWS(t, c); !strings.HasPrefix(got, "w1|") {
		t.Fatalf("got %q", got)
	}
	writeConfig(t, file, reloadConfig("w2", ""))
	harness.Eventually(t, "the reload after the change", func() bool { return strings.Contains(s.stderr.String(), "config reloaded") })
	sendWS(t, c, "b")
	if got := readWS(t, c); !strings.HasPrefix(got, "w2|") || !strings.HasSuffix(got, "|b") {
		t.Fatalf("after the change, the same socket got %q, want the w2 answer", got)
	}
	if code, _, stderr := runCLI("serve", "--watch-config"); code != 1 || !strings.Contains(stderr, "--watch-config needs --config") {
		t.Errorf("--watch-config with the demo: exit %d, %q", code, stderr)
	}
}
