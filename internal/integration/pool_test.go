package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// targetOf digs the HTTP target out of an HTTP_PROXY integration.
func targetOf(t *testing.T, in Integration) *httpTarget {
	t.Helper()
	p, ok := in.(*timed).in.(*httpProxy)
	if !ok {
		t.Fatalf("not HTTP_PROXY: %T", in.(*timed).in)
	}
	return p.t
}

// TestPoolSendsWhatTheHTTPClientSends makes the same calls through the pool and through the
// http.Client and compares what the backend saw and what came back, field by field.
func TestPoolSendsWhatTheHTTPClientSends(t *testing.T) {
	be := startBackend(t, 201, `{"ok":true}`)
	be.header.Set("Sec-WebSocket-Protocol", "chat")
	be.header.Add("X-Multi", "a")
	be.header.Add("X-Multi", "b")
	cfg := config.Integration{
		Type: config.HTTPProxy, URI: be.URL + "/ws/path?fixed=1",
		RequestParameters: map[string]string{
			"integration.request.header.connectionId":          "context.connectionId",
			"integration.request.header.Sec-WebSocket-Version": "'0'",
			"integration.request.header.x-user":                "route.request.body.user.id",
			"integration.request.querystring.cid":              "context.connectionId",
		},
	}
	viaPool := mustNew(t, cfg, Options{})
	viaClient := mustNew(t, cfg, Options{HTTPClient: DefaultHTTPClient()})
	if targetOf(t, viaPool).pool == nil || targetOf(t, viaClient).pool != nil {
		t.Fatal("want the first integration on the pool and the second on the http.Client")
	}
	del := cfg
	del.Method = "DELETE"
	delPool, delClient := mustNew(t, del, Options{}), mustNew(t, del, Options{HTTPClient: DefaultHTTPClient()})
	bin := messageEvent(`/w==`)
	bin.IsBase64Encoded = true
	for _, tc := range []struct {
		name       string
		pool, clnt Integration
		ev         *event.Event
	}{
		{"connect", viaPool, viaClient, connectEvent()},
		{"message json", viaPool, viaClient, messageEvent(`{"action":"send","user":{"id":7}}`)},
		{"message text", viaPool, viaClient, messageEvent("hello")},
		{"message binary", viaPool, viaClient, bin},
		{"disconnect", viaPool, viaClient, disconnectEvent()},
		{"delete, no body", delPool, delClient, disconnectEvent()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := mustInvoke(t, tc.pool, tc.ev)
			gp := be.next(t)
			rc := mustInvoke(t, tc.clnt, tc.ev)
			gc := be.next(t)
			gc.Header.Del("Accept-Encoding") // net/http asks for gzip and undoes it; the pool asks for none
			if gp.Method != gc.Method || gp.RequestURI != gc.RequestURI || gp.Host != gc.Host ||
				gp.ContentLength != gc.ContentLength || len(gp.TransferEncoding) != len(gc.TransferEncoding) ||
				!bytes.Equal(gp.Body, gc.Body) {
				t.Errorf("pool sent %s %s host %s length %d %v body %q\nclient sent %s %s host %s length %d %v body %q",
					gp.Method, gp.RequestURI, gp.Host, gp.ContentLength, gp.TransferEncoding, gp.Body,
					gc.Method, gc.RequestURI, gc.Host, gc.ContentLength, gc.TransferEncoding, gc.Body)
			}
			if !sameHeader(gp.Header, gc.Header) {
				t.Errorf("headers differ:\npool   %v\nclient %v", gp.Header, gc.Header)
			}
			rp.Header.Del("Date")
			rc.Header.Del("Date")
			if rp.StatusCode != rc.StatusCode || !bytes.Equal(rp.Body, rc.Body) || !sameHeader(rp.Header, rc.Header) {
				t.Errorf("answers differ:\npool   %d %v %q\nclient %d %v %q", rp.StatusCode, rp.Header, rp.Body, rc.StatusCode, rc.Header, rc.Body)
			}
		})
	}
}

func sameHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb := b[k]
		if strings.Join(va, "\x00") != strings.Join(vb, "\x00") {
			return false
		}
	}
	return true
}

func TestPoolOnlyForPlainHTTP(t *testing.T) {
	for uri, want := range map[string]bool{
		"http://127.0.0.1:9/x":        true,
		"https://127.0.0.1:9/x":       false,
		"http://user:pw@127.0.0.1:9/": false, // net/http turns userinfo into basic auth
	} {
		in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: uri}, Options{})
		if got := targetOf(t, in).pool != nil; got != want {
			t.Errorf("%s: on the pool = %v, want %v", uri, got, want)
		}
	}
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: "http://127.0.0.1:9/x"}, Options{Pool: NewPool(), HTTPClient: http.DefaultClient})
	if targetOf(t, in).addr != "127.0.0.1:9" {
		t.Errorf("addr %q", targetOf(t, in).addr)
	}
	in = mustNew(t, config.Integration{Type: config.HTTPProxy, URI: "http://localhost/x"}, Options{})
	if targetOf(t, in).addr != "localhost:80" {
		t.Errorf("addr %q, want the default port", targetOf(t, in).addr)
	}
}

// countingBackend is a backend that counts the TCP connections it accepted and can close
// them from its side.
type countingBackend struct {
	*httptest.Server
	conns atomic.Int32
	mu    sync.Mutex
	open  []net.Conn
}

func startCountingBackend(t *testing.T, h http.HandlerFunc) *countingBackend {
	t.Helper()
	b := &countingBackend{}
	b.Server = httptest.NewUnstartedServer(h)
	b.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
			b.mu.Lock()
			b.open = append(b.open, c)
			b.mu.Unlock()
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

// closeAll closes every connection from the backend's side, as a backend's idle timeout does.
func (b *countingBackend) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.open {
		_ = c.Close()
	}
	b.open = nil
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	_, _ = w.Write(body)
}

func TestPoolKeepsConnectionsAlive(t *testing.T) {
	be := startCountingBackend(t, echoHandler)
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: be.URL}, Options{})
	for i := range 20 {
		msg := "m" + strconv.Itoa(i)
		if r := mustInvoke(t, in, messageEvent(msg)); string(r.Body) != msg {
			t.Fatalf("answer %q, want %q", r.Body, msg)
		}
	}
	if n := be.conns.Load(); n != 1 {
		t.Fatalf("20 calls one after another opened %d connections, want 1", n)
	}
}

// TestPoolCallDeadlines: a call through the pool with a context that never ends is bounded by
// a deadline set on its backend connection (no context or timer per call). That deadline stays
// on the idle connection after the answer; once it has passed, the next call must still reuse
// the connection (the liveness peek must not trip over it), whether that call ends by its own
// deadline or by its context's, and a call that runs out of time must fail as a timeout and
// leave no broken connection behind.
func TestPoolCallDeadlines(t *testing.T) {
	release := make(chan struct{})
	be := startCountingBackend(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) == "slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = w.Write(body)
	})
	t.Cleanup(func() { close(release) }) // runs before the backend's Close
	const timeout = 50 * time.Millisecond
	for _, typ := range []string{config.HTTPProxy, config.HTTP} {
		t.Run(typ, func(t *testing.T) {
			be.conns.Store(0)
			in := mustNew(t, config.Integration{Type: typ, URI: be.URL, Timeout: config.Duration(timeout)}, Options{})
			if _, ok := in.(*timed).in.(byDeadline); !ok {
				t.Fatalf("%s through the pool does not take a deadline", typ)
			}
			call := func(ctx context.Context, msg string) (*Response, error) {
				return in.Invoke(ctx, messageEvent(msg))
			}
			if r, err := call(context.Background(), "one"); err != nil || string(r.Body) != "one" {
				t.Fatalf("one: %v %v", r, err)
			}
			time.Sleep(3 * timeout) // the first call's deadline passes while its connection is idle
			if r, err := call(context.Background(), "two"); err != nil || string(r.Body) != "two" {
				t.Fatalf("two: %v %v", r, err)
			}
			time.Sleep(3 * timeout)
			ctx, cancel := context.WithCancel(context.Background()) // a context that can end: its path
			r, err := call(ctx, "three")
			cancel()
			if err != nil || string(r.Body) != "three" {
				t.Fatalf("three: %v %v", r, err)
			}
			if n := be.conns.Load(); n != 1 {
				t.Fatalf("%d backend connections for three calls, want 1 (a passed deadline made the pool drop a good connection)", n)
			}
			_, err = call(context.Background(), "slow")
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out after 50ms") {
				t.Fatalf("slow: err = %v, want a timeout", err)
			}
			if r, err := call(context.Background(), "four"); err != nil || string(r.Body) != "four" {
				t.Fatalf("four, after a timeout: %v %v", r, err)
			}
			if n := be.conns.Load(); n != 2 {
				t.Fatalf("%d backend connections, want 2 (the timed-out one closed, one new)", n)
			}
		})
	}
}

// TestPoolDropsConnectionsClosedWhileIdle: a backend that closes its idle connections (Node's
// keepAliveTimeout) must not fail the next message.
func TestPoolDropsConnectionsClosedWhileIdle(t *testing.T) {
	be := startCountingBackend(t, echoHandler)
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: be.URL}, Options{})
	mustInvoke(t, in, messageEvent("one"))
	be.closeAll()
	if r := mustInvoke(t, in, messageEvent("two")); string(r.Body) != "two" {
		t.Fatalf("answer %q", r.Body)
	}
	if n := be.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (the closed one replaced)", n)
	}
}

func TestPoolConnectionCloseAnswer(t *testing.T) {
	be := startCountingBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		echoHandler(w, r)
	})
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: be.URL}, Options{})
	for _, msg := range []string{"a", "b", "c"} {
		if r := mustInvoke(t, in, messageEvent(msg)); string(r.Body) != msg {
			t.Fatalf("answer %q, want %q", r.Body, msg)
		}
	}
	if n := be.conns.Load(); n != 3 {
		t.Fatalf("%d connections for 3 answers with Connection: close, want 3", n)
	}
}

// rawBackend answers each request on a kept-alive connection with the next of answers, written
// as given. It reads requests with Content-Length bodies only.
func rawBackend(t testing.TB, answers ...string) string {
	t.Helper()
	raw := make([][]byte, len(answers))
	for i, a := range answers {
		raw[i] = []byte(a)
	}
	var next atomic.Int64
	addr := harness.ServeTCP(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			if !readRequest(br) {
				return
			}
			if _, err := c.Write(raw[int(next.Add(1)-1)%len(raw)]); err != nil {
				return
			}
		}
	})
	return "http://" + addr
}

var contentLength = []byte("content-length:")

// readRequest reads one request head and its Content-Length body, allocating nothing.
func readRequest(br *bufio.Reader) bool {
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return false
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > len(contentLength) && bytes.EqualFold(line[:len(contentLength)], contentLength) {
			v := bytes.TrimSpace(line[len(contentLength):])
			for _, d := range v {
				n = n*10 + int(d-'0')
			}
		}
	}
	_, err := br.Discard(n)
	return err == nil
}

func TestPoolReadsInterimChunkedAndCloseDelimitedAnswers(t *testing.T) {
	url := rawBackend(t,
		"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nfinal",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nchu\r\n4\r\nnked\r\n0\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
	)
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: url}, Options{})
	for _, want := range []struct {
		status int
		body   string
	}{{200, "final"}, {200, "chunked"}, {404, ""}, {200, "final"}} {
		r := mustInvoke(t, in, messageEvent("x"))
		if r.StatusCode != want.status || string(r.Body) != want.body {
			t.Fatalf("answer %d %q, want %d %q", r.StatusCode, r.Body, want.status, want.body)
		}
	}
	// An HTTP/1.0 answer whose body ends with the connection, twice: the second call needs a
	// new connection.
	addr := harness.ServeTCP(t, func(c net.Conn) {
		if readRequest(bufio.NewReader(c)) {
			_, _ = io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\nuntil close")
		}
		_ = c.Close()
	})
	in = mustNew(t, config.Integration{Type: config.HTTPProxy, URI: "http://" + addr}, Options{})
	for range 2 {
		if r := mustInvoke(t, in, messageEvent("x")); r.StatusCode != 200 || string(r.Body) != "until close" {
			t.Fatalf("answer %d %q", r.StatusCode, r.Body)
		}
	}
}

// TestPoolRedirectIsTheAnswer: a 3xx comes back as the answer, Location and body included; the
// pool follows no redirect.
func TestPoolRedirectIsTheAnswer(t *testing.T) {
	be := startBackend(t, http.StatusFound, "moved")
	be.header.Set("Location", "/elsewhere")
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: be.URL}, Options{})
	r := mustInvoke(t, in, messageEvent("x"))
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/elsewhere" || string(r.Body) != "moved" {
		t.Fatalf("answer %d %v %q, want the 302 itself", r.StatusCode, r.Header, r.Body)
	}
	be.next(t)
	if len(be.got) != 0 {
		t.Fatal("the redirect was followed")
	}
}

func TestPoolRefusesHeaderValuesNetHTTPRefuses(t *testing.T) {
	be := startBackend(t, 200, "")
	cfg := config.Integration{Type: config.HTTPProxy, URI: be.URL, RequestParameters: map[string]string{
		"integration.request.header.x-user": "route.request.body.user",
	}}
	for _, o := range []Options{{}, {HTTPClient: DefaultHTTPClient()}} {
		in := mustNew(t, cfg, o)
		_, err := in.Invoke(context.Background(), messageEvent(`{"user":"a\r\nX-Injected: 1"}`))
		if err == nil || !strings.Contains(err.Error(), "invalid header field value") {
			t.Errorf("pool %v: err = %v, want an invalid header value", o.HTTPClient == nil, err)
		}
	}
	if len(be.got) != 0 {
		t.Fatal("a request with a CR LF in a header value reached the backend")
	}
}

func TestPoolAnswerTooLargeByLength(t *testing.T) {
	url := rawBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(MaxResponseBytes+1)+"\r\n\r\n")
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: url}, Options{})
	if _, err := in.Invoke(context.Background(), messageEvent("x")); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("err = %v, want a size error", err)
	}
}

func TestPoolCallerCancelsDuringCall(t *testing.T) {
	got := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(got)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: srv.URL}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := in.Invoke(ctx, messageEvent("x"))
		errc <- err
	}()
	<-got
	cancel()
	var err error
	harness.EventuallyWithin(t, 10*time.Second, "the call to end after its context", func() bool {
		select {
		case err = <-errc:
			return true
		default:
			return false
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestRouteEncodingAllocs pins what building one MESSAGE's integration request allocates: the
// header lines (no map) and, through the pool, the whole call against a backend that allocates
// nothing. A rise here is a regression on every message.
func TestRouteEncodingAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	url := rawBackend(t, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}")
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: url + "/echo"}, Options{})
	tg := targetOf(t, in)
	ev := messageEvent(`{"action":"echo","data":{"room":"lobby","seq":1}}`)
	frame := []byte(ev.Body)
	ctx := context.Background()
	var buf [12]field
	if n := testing.AllocsPerRun(200, func() {
		h := tg.header(ctx, buf[:0], ev, nil, frame, frame)
		if len(h) != 5 {
			t.Fatalf("header lines %v", h)
		}
	}); n > 0 {
		t.Errorf("building a MESSAGE's header lines allocates %.1f times, want 0", n)
	}
	mustInvoke(t, in, ev) // the connection is open and idle from here on
	// Measured at 9 (the answer's head as one string, its header map and values, the Response
	// and its body, the request's buffers); 15 through http.ReadResponse for every answer, 25
	// while each call also made a timeout context and a cancel hook. The same call through
	// net/http's client: 73.
	const ceiling = 9
	if n := testing.AllocsPerRun(200, func() {
		if r, err := in.Invoke(ctx, ev); err != nil || r.StatusCode != 200 {
			t.Fatalf("%v %v", r, err)
		}
	}); n > ceiling {
		t.Errorf("one HTTP_PROXY call through the pool allocates %.1f times, ceiling %d", n, ceiling)
	} else {
		t.Logf("one HTTP_PROXY call through the pool: %.1f allocations", n)
	}
}

// TestFrameIsSentAsTheGatewayCopiedIt: a MESSAGE event carrying the frame's bytes (Frame, as
// the gateway builds it) sends those very bytes, without copying Body back or decoding its
// base64; an event without Frame (built elsewhere) still sends Body.
func TestFrameIsSentAsTheGatewayCopiedIt(t *testing.T) {
	be := startCountingBackend(t, echoHandler)
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: be.URL}, Options{})
	bin := []byte{0, 1, 0xfe, 0xff}
	ev := messageEvent(base64.StdEncoding.EncodeToString(bin))
	ev.IsBase64Encoded = true
	ev.Frame = bin
	if b, err := frameBody(ev); err != nil || len(b) != len(bin) || &b[0] != &bin[0] {
		t.Fatalf("frameBody copied or changed the frame: %v %v", b, err)
	}
	if r := mustInvoke(t, in, ev); !bytes.Equal(r.Body, bin) {
		t.Fatalf("backend got %v, want %v", r.Body, bin)
	}
	ev.Frame = nil
	if r := mustInvoke(t, in, ev); !bytes.Equal(r.Body, bin) {
		t.Fatalf("without Frame: backend got %v, want %v (Body decoded)", r.Body, bin)
	}
}
