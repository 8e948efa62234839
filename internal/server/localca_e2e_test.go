package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/localca"
	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// caPool reads a PEM CA file into a pool, as a client given `--ca FILE` does.
func caPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read CA file: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no PEM certificate", file)
	}
	return pool
}

func trustingClient(t *testing.T, pool *x509.CertPool) *http.Client {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// connectWhere waits for a $connect event that pred accepts.
func connectWhere(t *testing.T, fn *harness.Lambda, what string, pred func(events.APIGatewayWebsocketProxyRequest) bool) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	var found events.APIGatewayWebsocketProxyRequest
	harness.Eventually(t, "a $connect event "+what, func() bool {
		for _, ev := range fn.ProxyEvents() {
			if ev.RequestContext.RouteKey == "$connect" && pred(ev) {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

func overTLS(ev events.APIGatewayWebsocketProxyRequest) bool {
	return ev.Headers["X-Forwarded-Proto"] == "https"
}

func inClear(ev events.APIGatewayWebsocketProxyRequest) bool {
	return ev.Headers["X-Forwarded-Proto"] == "http"
}

// With no tls: configured, one port serves wss:// and ws://, https:// and http://, with a
// certificate from the local CA; the SDK's management client trusting only the CA file posts
// to https://{domainName}/{stage}, the endpoint AWS's tutorials build from the event.
func TestLocalCAServesBothOnOnePort(t *testing.T) {
	dir := t.TempDir()
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		return 200, "echo:" + ev.Body
	})
	// With credentials, every management call below is SigV4-verified: the signature covers
	// the Host the SDK derived from https://{domainName}/{stage}, port included.
	n := servertest.Start(t, fmt.Sprintf("state: { dir: %q }\nmanagement: { credentials: [ { accessKeyId: %s, secretAccessKey: %q } ] }\n",
		dir, mgmtKeyID, mgmtSecretKey)+fmt.Sprintf(lifecycleAPI, fn.URL()))
	trust := n.Server.Trust()
	if trust.CAFile != filepath.Join(dir, "ca.pem") || n.Server.CABundle() != filepath.Join(dir, "ca-bundle.pem") {
		t.Fatalf("Trust() = %+v, CABundle() = %q; want ca.pem and ca-bundle.pem in %s", trust, n.Server.CABundle(), dir)
	}
	for name, mode := range map[string]os.FileMode{"ca-key.pem": 0o600, "server-key.pem": 0o600, "ca.pem": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v; want %v", name, err, fi.Mode().Perm(), mode)
		}
	}
	httpc := trustingClient(t, caPool(t, trust.CAFile))

	secure := dial(t, "wss://"+n.Addr+"/dev", func(o *websocket.DialOptions) { o.HTTPClient = httpc })
	plain := dial(t, "ws://"+n.Addr+"/dev")
	send(t, secure, "over tls")
	send(t, plain, "in clear")
	if got := read(t, secure); got != "echo:over tls" {
		t.Fatalf("wss:// route response = %q", got)
	}
	if got := read(t, plain); got != "echo:in clear" {
		t.Fatalf("ws:// route response = %q", got)
	}
	secureEv := connectWhere(t, fn, "over TLS", overTLS)
	plainEv := connectWhere(t, fn, "in clear", inClear)

	// requestContext.domainName is the host and port the client dialled: the callback URL
	// the tutorials build from it reaches this port, and the certificate names it.
	domain := secureEv.RequestContext.DomainName
	if domain != n.Addr {
		t.Fatalf("requestContext.domainName = %q, want the dialled %q", domain, n.Addr)
	}
	mc := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String("https://" + domain + "/" + secureEv.RequestContext.Stage),
		Region:       "us-east-1", HTTPClient: httpc, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(mgmtKeyID, mgmtSecretKey, ""),
	})
	ctx := sdkContext(t)
	for _, c := range []struct {
		ev events.APIGatewayWebsocketProxyRequest
		ws *websocket.Conn
	}{{secureEv, secure}, {plainEv, plain}} {
		msg := "pushed to " + c.ev.Headers["X-Forwarded-Proto"]
		if _, err := mc.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String(c.ev.RequestContext.ConnectionID), Data: []byte(msg),
		}); err != nil {
			t.Fatalf("PostToConnection over https to %s: %v", domain, err)
		}
		if got := read(t, c.ws); got != msg {
			t.Fatalf("push = %q, want %q", got, msg)
		}
	}
	// Management and health over plain http:// on the same port too.
	if _, err := mgmtClient(n, mgmtKeyID, mgmtSecretKey).PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(plainEv.RequestContext.ConnectionID), Data: []byte("via http"),
	}); err != nil {
		t.Fatalf("PostToConnection over http: %v", err)
	}
	if got := read(t, plain); got != "via http" {
		t.Fatalf("push over http = %q", got)
	}
	for _, u := range []string{"http://" + n.Addr + "/healthz", "https://" + n.Addr + "/healthz", "https://localhost:" + port(n.Addr) + "/healthz"} {
		resp, err := httpc.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ok\n" {
			t.Fatalf("GET %s = %d %q", u, resp.StatusCode, body)
		}
		if strings.HasPrefix(u, "https") && resp.Proto != "HTTP/2.0" {
			t.Errorf("GET %s spoke %s; want HTTP/2.0 as before (ALPN h2)", u, resp.Proto)
		}
	}
	// The bundle holds the system's roots and the CA, so a client whose roots it replaces
	// (SSL_CERT_FILE, AWS_CA_BUNDLE) still verifies wsgate.
	bundle := caPool(t, trust.Bundle)
	if _, err := trustingClient(t, bundle).Get("https://" + n.Addr + "/healthz"); err != nil {
		t.Fatalf("GET with the bundle as roots: %v", err)
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// A real node process, given only the trust variables and credentials, posts a SigV4-signed
// request with its https module to https://{domainName}/{stage}/@connections/{id} and the
// socket receives it: the Lambda tutorials' callback, unchanged, verified by the management API.
func TestLocalCANodeCallback(t *testing.T) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	fn := echoLambda(t)
	n, logs := servertest.StartLogged(t, fmt.Sprintf("state: { dir: %q }\nmanagement: { credentials: [ { accessKeyId: %s, secretAccessKey: %q } ] }\n",
		t.TempDir(), mgmtKeyID, mgmtSecretKey)+fmt.Sprintf(lifecycleAPI, fn.URL()))
	c := dial(t, n.WS("/dev"))
	ev := fn.WaitEvent(t, "$connect", "")
	// SigV4 by hand with node's crypto (no npm): what the SDK's ApiGatewayManagementApi client
	// sends, with the credentials from the environment as Lambda gives them.
	script := `
const https = require('https'), crypto = require('crypto');
const [domainName, stage, id] = process.argv.slice(1);
const body = 'hello from node over https';
const path = '/' + stage + '/@connections/' + encodeURIComponent(id);
const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const day = amzDate.slice(0, 8), region = process.env.AWS_REGION, scope = day + '/' + region + '/execute-api/aws4_request';
const hash = (s) => crypto.createHash('sha256').update(s).digest('hex');
const hmac = (k, s) => crypto.createHmac('sha256', k).update(s).digest();
const rfc3986 = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const canonicalURI = path.split('/').map(rfc3986).join('/');
const canonical = ['POST', canonicalURI, '', 'host:' + domainName, 'x-amz-date:' + amzDate, '', 'host;x-amz-date', hash(body)].join('\n');
const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, hash(canonical)].join('\n');
let key = hmac('AWS4' + process.env.AWS_SECRET_ACCESS_KEY, day);
for (const part of [region, 'execute-api', 'aws4_request']) key = hmac(key, part);
const signature = crypto.createHmac('sha256', key).update(toSign).digest('hex');
const req = https.request('https://' + domainName + path, {method: 'POST', headers: {
    'Content-Length': Buffer.byteLength(body), 'X-Amz-Date': amzDate,
    'Authorization': 'AWS4-HMAC-SHA256 Credential=' + process.env.AWS_ACCESS_KEY_ID + '/' + scope + ', SignedHeaders=host;x-amz-date, Signature=' + signature,
  }}, (res) => {
    let text = '';
    res.on('data', (d) => { text += d; });
    res.on('end', () => { console.log('status ' + res.statusCode + (res.statusCode === 200 ? '' : ' ' + text)); });
  });
req.on('error', (e) => { console.error('request failed: ' + e.message); process.exit(2); });
req.end(body);
`
	creds := []string{"AWS_ACCESS_KEY_ID=" + mgmtKeyID, "AWS_SECRET_ACCESS_KEY=" + mgmtSecretKey, "AWS_REGION=us-east-1"}
	cmd := exec.Command(nodeBin, "-e", script, ev.RequestContext.DomainName, ev.RequestContext.Stage, ev.RequestContext.ConnectionID)
	cmd.Env = append(append(os.Environ(), creds...), n.Server.Trust().Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "status 200" {
		t.Fatalf("node https POST: %v\n%s", err, out)
	}
	if got := read(t, c); got != "hello from node over https" {
		t.Fatalf("socket got %q", got)
	}
	// Without the CA, node refuses the certificate: the variable is what made it work.
	cmd = exec.Command(nodeBin, "-e", script, ev.RequestContext.DomainName, ev.RequestContext.Stage, ev.RequestContext.ConnectionID)
	cmd.Env = append(os.Environ(), creds...)
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "certificate") {
		t.Fatalf("node without NODE_EXTRA_CA_CERTS: %v\n%s; want a certificate error", err, out)
	}
	// Node hangs up without a TLS alert; the log still says what to do, and with which file.
	rec := waitLog(t, logs, "hung up on wsgate's certificate")
	if rec["caFile"] != n.Server.Trust().CAFile || !strings.HasPrefix(fmt.Sprint(rec["remote"]), "127.0.0.1:") {
		t.Errorf("log line = %v; want the CA file and the client's address", rec)
	}
}

// A restart keeps the same CA (same file, same fingerprint), so clients keep trusting it.
func TestLocalCASurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	fn := echoLambda(t)
	yaml := fmt.Sprintf("state: { dir: %q }\n", dir) + fmt.Sprintf(lifecycleAPI, fn.URL())
	first := servertest.Start(t, yaml)
	ca1, err := os.ReadFile(first.Server.Trust().CAFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf1, _ := os.ReadFile(filepath.Join(dir, "server.pem"))
	pool := caPool(t, first.Server.Trust().CAFile)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.Server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	second := servertest.Start(t, yaml)
	ca2, err := os.ReadFile(second.Server.Trust().CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if second.Server.Trust().CAFile != first.Server.Trust().CAFile || string(ca1) != string(ca2) {
		t.Fatalf("the CA changed across a restart")
	}
	if leaf2, _ := os.ReadFile(filepath.Join(dir, "server.pem")); string(leaf1) != string(leaf2) {
		t.Errorf("the server certificate was made again for the same listen address")
	}
	// A client that trusted the first run's CA connects to the second run.
	c := dial(t, "wss://"+second.Addr+"/dev", func(o *websocket.DialOptions) { o.HTTPClient = trustingClient(t, pool) })
	send(t, c, "again")
	if got := read(t, c); got != "re:again" {
		t.Fatalf("wss:// after restart = %q", got)
	}
	st := secureState(t, second.Addr, pool)
	if got, want := localca.Fingerprint(st.PeerCertificates[len(st.PeerCertificates)-1]), fingerprintOf(t, ca1); got != want {
		t.Fatalf("served chain ends in CA %s, want %s", got, want)
	}
}

func fingerprintOf(t *testing.T, pemBytes []byte) string {
	t.Helper()
	b, _ := pem.Decode(pemBytes)
	if b == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return localca.Fingerprint(c)
}

// secureState completes a TLS handshake with addr and returns what the server presented.
func secureState(t *testing.T, addr string, pool *x509.CertPool) tls.ConnectionState {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS dial %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState()
}

// Clients that connect and send nothing hold no accept slot: others are served meanwhile,
// over TLS and in clear.
func TestSilentClientsDoNotBlockAccept(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf("state: { dir: %q }\n", t.TempDir())+fmt.Sprintf(lifecycleAPI, fn.URL()))
	for range 20 {
		s, err := net.Dial("tcp", n.Addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
	}
	httpc := trustingClient(t, caPool(t, n.Server.Trust().CAFile))
	secure := dial(t, "wss://"+n.Addr+"/dev", func(o *websocket.DialOptions) { o.HTTPClient = httpc })
	plain := dial(t, "ws://"+n.Addr+"/dev")
	send(t, secure, "a")
	send(t, plain, "b")
	if read(t, secure) != "re:a" || read(t, plain) != "re:b" {
		t.Fatal("echo with silent clients connected")
	}
}

// A TLS client on a plain-text-only port (tls.mode off), a plain-text client on a TLS-only
// port (tls.requireTLS), and a client that does not trust the certificate each get a log line
// saying what happened and from where.
func TestWrongProtocolIsLogged(t *testing.T) {
	fn := echoLambda(t)
	t.Run("tls on plain-only port", func(t *testing.T) {
		n, logs := servertest.StartLogged(t, "tls: { mode: off }\n"+fmt.Sprintf(lifecycleAPI, fn.URL()))
		if n.Server.Trust() != (localca.Trust{}) {
			t.Errorf("tls.mode off: Trust() = %+v, want none", n.Server.Trust())
		}
		_, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", n.Addr, &tls.Config{InsecureSkipVerify: true})
		if err == nil || !strings.Contains(err.Error(), "handshake failure") {
			t.Errorf("TLS dial to a plain-only port: %v, want a handshake failure alert", err)
		}
		rec := waitLog(t, logs, "refused a TLS")
		if !strings.Contains(rec["msg"].(string), "tls.mode: off") || !strings.HasPrefix(fmt.Sprint(rec["remote"]), "127.0.0.1:") {
			t.Errorf("log line = %v; want it to name tls.mode: off and the client's address", rec)
		}
		c := dial(t, n.WS("/dev")) // plain text still works
		send(t, c, "x")
		if read(t, c) != "re:x" {
			t.Fatal("ws:// on a plain-only port")
		}
	})
	t.Run("plain on tls-only port", func(t *testing.T) {
		n, logs := servertest.StartLogged(t, fmt.Sprintf("state: { dir: %q }\ntls: { requireTLS: true }\n", t.TempDir())+fmt.Sprintf(lifecycleAPI, fn.URL()))
		resp, err := http.Get("http://" + n.Addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(body), "HTTP request to an HTTPS server") {
			t.Errorf("plain GET on a TLS-only port = %d %q", resp.StatusCode, body)
		}
		rec := waitLog(t, logs, "refused a plain-text")
		if rec["request"] != "GET /healthz HTTP/1.1" || !strings.HasPrefix(fmt.Sprint(rec["remote"]), "127.0.0.1:") {
			t.Errorf("log line = %v; want the request line and the client's address", rec)
		}
		if _, _, err := tryDial(n.WS("/dev")); err == nil {
			t.Error("ws:// on a TLS-only port succeeded")
		}
		if _, err := trustingClient(t, caPool(t, n.Server.Trust().CAFile)).Get("https://" + n.Addr + "/healthz"); err != nil {
			t.Errorf("https on a TLS-only port: %v", err)
		}
	})
	t.Run("client does not trust the CA", func(t *testing.T) {
		n, logs := servertest.StartLogged(t, fmt.Sprintf("state: { dir: %q }\nmanagement: { credentials: [ { accessKeyId: %s, secretAccessKey: %q } ] }\n",
			t.TempDir(), mgmtKeyID, mgmtSecretKey)+fmt.Sprintf(lifecycleAPI, fn.URL()))
		if _, err := http.Get("https://" + n.Addr + "/healthz"); err == nil {
			t.Fatal("an untrusting client was served")
		}
		rec := waitLog(t, logs, "rejected wsgate's certificate")
		if rec["caFile"] != n.Server.Trust().CAFile || !strings.Contains(fmt.Sprint(rec["alert"]), "certificate") {
			t.Errorf("log line = %v; want the CA file to trust and the client's alert", rec)
		}
	})
}

// waitLog waits for a JSON log record whose msg contains substr.
func waitLog(t *testing.T, logs *harness.Buffer, substr string) map[string]any {
	t.Helper()
	var found map[string]any
	harness.Eventually(t, "a log line with "+substr, func() bool {
		text := logs.String()
		sc := bufio.NewScanner(strings.NewReader(text))
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && strings.Contains(fmt.Sprint(m["msg"]), substr) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// Plain ws:// sockets on the shared port still move onto nbio's event loop after the upgrade:
// the first byte is peeked, not read, so the gateway gets the *net.TCPConn nbio takes. A
// wrapper in that path would leave each socket on a goroutine of its own, as wss:// ones are.
func TestPlainSocketsStayOnTheEventLoop(t *testing.T) {
	n := servertest.Start(t, fmt.Sprintf("state: { dir: %q }\n", t.TempDir())+`
routes:
  $default: { integration: m, routeResponse: true }
integrations:
  m: { type: MOCK, requestTemplates: { $default: '{"statusCode": 200}' }, responses: { $default: { templates: { $default: 'hi' } } } }
`)
	const conns = 60
	// Warm up, so that pools and workers the first connections start are not counted.
	warm := dialFrames(t, n.WS("/dev"))
	warm.conn.Close()
	harness.Eventually(t, "the warm-up socket to go", func() bool { return n.Server.Hub().Len() == 0 })
	before := runtime.NumGoroutine()
	for range conns {
		dialFrames(t, n.WS("/dev")) // a raw client: no goroutine of its own
	}
	harness.Eventually(t, "the sockets to register", func() bool { return n.Server.Hub().Len() == conns })
	if grew := runtime.NumGoroutine() - before; grew >= conns/2 {
		t.Fatalf("%d plain ws:// sockets added %d goroutines: they are not on nbio's event loop", conns, grew)
	}
}

// With no usable default state directory (a container's read-only home), the node still
// serves TLS, from a CA in a temporary directory, and says how to keep one.
func TestLocalCAWithoutAStateDirectory(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WSGATE_STATE_DIR", "")
	t.Setenv("STATE_DIRECTORY", "")
	t.Setenv("XDG_STATE_HOME", notADir) // $XDG_STATE_HOME/wsgate cannot be made
	fn := echoLambda(t)
	n, logs := servertest.StartLogged(t, fmt.Sprintf(lifecycleAPI, fn.URL()))
	caFile := n.Server.Trust().CAFile
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(caFile)) })
	if strings.HasPrefix(caFile, notADir) || caFile == "" {
		t.Fatalf("CA file %q", caFile)
	}
	rec := waitLog(t, logs, "state directory unusable")
	if !strings.Contains(fmt.Sprint(rec["msg"]), "set state.dir") {
		t.Errorf("warning = %v; want it to say how to keep the CA", rec)
	}
	c := dial(t, "wss://"+n.Addr+"/dev", func(o *websocket.DialOptions) { o.HTTPClient = trustingClient(t, caPool(t, caFile)) })
	send(t, c, "tmp")
	if got := read(t, c); got != "re:tmp" {
		t.Fatalf("wss:// with a temporary CA = %q", got)
	}
}
