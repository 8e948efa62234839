package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
	"github.com/wsgate/wsgate/internal/tlsmux"
)

// exchange sends req on a new connection and returns the answers to its first n requests,
// each as its status line, its header lines sorted (Date, the request id and
// Sec-WebSocket-Accept without their values, which differ from one request to the next) and
// its body. whole writes req at once: its head is in when the node accepts the connection,
// and an upgrade is served without net/http (server.direct). Otherwise the first bytes go
// alone and the rest after a pause, so that the head is still on its way at accept and
// net/http serves it. (Which way a connection goes cannot be forced from outside; the pause
// makes the net/http way all but certain, and what the tests compare holds on both.)
func exchange(t *testing.T, addr, req string, whole bool, n int) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if whole {
		_, err = io.WriteString(c, req)
	} else if _, err = io.WriteString(c, req[:3]); err == nil {
		time.Sleep(20 * time.Millisecond)
		_, err = io.WriteString(c, req[3:])
	}
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []string
	for range n {
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
		if err != nil {
			t.Fatalf("answer %d of %q: %v (after %q)", len(out)+1, req, err, out)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		var lines []string
		for k, vs := range resp.Header {
			for _, v := range vs {
				switch k {
				case "Date", "X-Amzn-Requestid", "Sec-Websocket-Accept":
					v = "-"
				}
				lines = append(lines, k+": "+v)
			}
		}
		slices.Sort(lines)
		if resp.Close {
			lines = append(lines, "(Connection: close)") // ReadResponse takes it out of Header
		}
		out = append(out, resp.Status+"\n"+strings.Join(lines, "\n")+"\n\n"+string(body))
	}
	return out
}

// An upgrade whose head arrives whole at accept (served without net/http) is answered exactly
// as the same bytes arriving slowly (served by net/http): refusals (401 from the authorizer's
// missing identity source, 403 from a Deny and from another stage, 400 for a missing key,
// 431 over limits.handshakeHeaders, and what net/http's server refuses itself: 417 for an
// Expect it does not know, 400 for a field name that is not a token), a refused upgrade with
// Connection: close, a management request pipelined after a refusal, and a second upgrade
// on the connection after a refusal.
func TestDirectUpgradeAnswersAsNetHTTP(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) { return 200, "" })
	authz := newAuthLambda(t, func(in events.APIGatewayCustomAuthorizerRequestTypeRequest) (any, string) {
		if in.Headers["X-Token"] == "deny" {
			return policy("u1", "Deny", in.MethodArn, nil), ""
		}
		return policy("u1", "Allow", in.MethodArn, nil), ""
	})
	n := servertest.Start(t, fmt.Sprintf(requestAPI, fn.URL(), authz.URL()))
	head := func(target string, lines ...string) string {
		return "GET " + target + " HTTP/1.1\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"
	}
	ok := upgradeLines(n.Addr, "X-Token: t")
	var many []string
	for i := range 100 {
		many = append(many, fmt.Sprintf("X-H%d: v", i))
	}
	healthz := "GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
	for _, tc := range []struct {
		name, req string
		answers   int
		status    []int
	}{
		{"no identity source", head("/dev?room=1", upgradeLines(n.Addr)...), 1, []int{401}},
		{"denied", head("/dev?room=1", upgradeLines(n.Addr, "X-Token: deny")...), 1, []int{403}},
		{"another stage", head("/other?room=1", ok...), 1, []int{403}},
		{"no key", head("/dev?room=1", slices.Delete(slices.Clone(ok), 3, 4)...), 1, []int{400}},
		{"over handshakeHeaders", head("/dev?room=1", append(slices.Clone(ok), many...)...), 1, []int{431}},
		{"Expect", head("/dev?room=1", append(slices.Clone(ok), "Expect: later")...), 1, []int{417}},
		{"a name with a space", head("/dev?room=1", append(slices.Clone(ok), "X A: b")...), 1, []int{400}},
		{"a space before the colon", head("/dev?room=1", append(slices.Clone(ok), "X-A : b")...), 1, []int{400}},
		{"Connection: close", head("/other?room=1", append(slices.Clone(ok)[:2], "Connection: close, Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", "X-Token: t")...), 1, []int{403}},
		{"a pipelined request after a refusal", head("/other?room=1", ok...) + healthz, 2, []int{403, 200}},
		{"accepted", head("/dev?room=1", ok...), 1, []int{101}},
		{"Connection: keep-alive, Upgrade", head("/dev?room=1", append(slices.Clone(ok)[:2], "Connection: keep-alive, Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", "X-Token: t")...), 1, []int{101}},
		{"Content-Length: 0", head("/dev?room=1", append(slices.Clone(ok), "Content-Length: 0")...), 1, []int{101}},
		{"bare LF", strings.ReplaceAll(head("/dev?room=1", ok...), "\r\n", "\n"), 1, []int{101}},
		{"HTTP/1.0", strings.Replace(head("/dev?room=1", ok...), "HTTP/1.1", "HTTP/1.0", 1), 1, []int{101}},
		{"an upgrade after a refusal", head("/other?room=1", ok...) + head("/dev?room=1", ok...), 2, []int{403, 101}},
	} {
		fast := exchange(t, n.Addr, tc.req, true, tc.answers)
		slow := exchange(t, n.Addr, tc.req, false, tc.answers)
		if !slices.Equal(fast, slow) {
			t.Errorf("%s: sent whole, the node answered\n%s\nsent slowly (net/http)\n%s", tc.name, strings.Join(fast, "\n---\n"), strings.Join(slow, "\n---\n"))
		}
		for i, want := range tc.status {
			if !strings.HasPrefix(fast[i], fmt.Sprint(want)+" ") {
				t.Errorf("%s: answer %d is %q, want %d", tc.name, i+1, strings.SplitN(fast[i], "\n", 2)[0], want)
			}
		}
	}
}

// The CONNECT event of an upgrade served without net/http carries the same headers,
// multiValueHeaders and query parameters (spelling, order, repeats) as the same upgrade served
// by net/http.
func TestDirectUpgradeConnectEventAsNetHTTP(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) { return 200, "" })
	authz := newAuthLambda(t, func(in events.APIGatewayCustomAuthorizerRequestTypeRequest) (any, string) {
		return policy("u1", "Allow", in.MethodArn, nil), ""
	})
	n := servertest.Start(t, fmt.Sprintf(requestAPI, fn.URL(), authz.URL()))
	req := "GET /dev?room=1&room=2&a=%20b&solo HTTP/1.1\r\n" + strings.Join(upgradeLines(n.Addr,
		"x-multi: a", "X-Multi: b", "X-TOKEN: t", "cookie: c=1", "Cookie: d=2", "x-empty:", "X-Forwarded-For: 10.0.0.1"), "\r\n") + "\r\n\r\n"
	type seen struct {
		Headers, QueryStringParameters           map[string]string
		MultiValueHeaders, MultiValueQueryString map[string][]string
	}
	var got []seen
	for _, whole := range []bool{true, false} {
		before := fn.Count("$connect")
		if a := exchange(t, n.Addr, req, whole, 1); !strings.HasPrefix(a[0], "101 ") {
			t.Fatalf("whole %v: %q", whole, a[0])
		}
		deadline := time.Now().Add(5 * time.Second)
		for fn.Count("$connect") == before && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		var ev events.APIGatewayWebsocketProxyRequest
		for _, e := range fn.ProxyEvents() {
			if e.RequestContext.RouteKey == "$connect" {
				ev = e
			}
		}
		hdr := ev.Headers
		delete(hdr, "X-Amzn-Trace-Id")
		mv := ev.MultiValueHeaders
		delete(mv, "X-Amzn-Trace-Id")
		got = append(got, seen{hdr, ev.QueryStringParameters, mv, ev.MultiValueQueryStringParameters})
	}
	if len(got[0].Headers) == 0 || !reflect.DeepEqual(got[0], got[1]) {
		t.Errorf("CONNECT event served without net/http:\n%+v\nby net/http:\n%+v", got[0], got[1])
	}
}

// A request that follows an upgrade the gateway refused, on a connection whose upgrade was
// served without net/http, is answered as net/http's server answers it (it serves the
// connection's next requests when the upgrade came through it), also where that server
// refuses what its request parser lets through.
func TestRequestAfterRefusedUpgradeAnswersAsNetHTTP(t *testing.T) {
	n := servertest.Start(t, pathsAPI)
	// No Sec-WebSocket-Key: the gateway answers 400 and the connection stays.
	refused := "GET /dev HTTP/1.1\r\n" + strings.Join(slices.Delete(upgradeLines(n.Addr), 3, 4), "\r\n") + "\r\n\r\n"
	for name, req := range map[string]string{
		"Expect":             "GET /healthz HTTP/1.1\r\nHost: h\r\nExpect: later\r\n\r\n",
		"Expect 100":         "GET /healthz HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
		"odd name":           "GET /healthz HTTP/1.1\r\nHost: h\r\nX A: b\r\n\r\n",
		"space before colon": "GET /healthz HTTP/1.1\r\nHost: h\r\nX-A : b\r\n\r\n",
		"no Host":            "GET /healthz HTTP/1.1\r\nX: y\r\n\r\n",
		"two Hosts":          "GET /healthz HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n",
		"odd Host":           "GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n",
		"HTTP/1.0":           "GET /healthz HTTP/1.0\r\nHost: h\r\n\r\n",
		"HTTP/2.0":           "GET /healthz HTTP/2.0\r\nHost: h\r\n\r\n",
		"HTTP/1.2":           "GET /healthz HTTP/1.2\r\nHost: h\r\n\r\n",
		"gzip":               "POST /healthz HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
		"absolute":           "GET http://h/healthz HTTP/1.1\r\nHost: h\r\n\r\n",
		"options *":          "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		"CONNECT":            "CONNECT h:80 HTTP/1.1\r\nHost: h:80\r\n\r\n",
	} {
		req += "GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
		after := exchange(t, n.Addr, refused+req, true, 2)[1]
		first := exchange(t, n.Addr, req, false, 1)[0]
		if after != first {
			t.Errorf("%s: after a refused upgrade the node answered\n%s\nfirst on a connection (net/http)\n%s", name, after, first)
		}
	}
}

// Heads of exactly DirectPeekBytes (served without net/http) and one byte over it (left to
// net/http) are both upgraded.
func TestDirectUpgradeAtThePeekBound(t *testing.T) {
	n := servertest.Start(t, pathsAPI)
	for _, size := range []int{tlsmux.DirectPeekBytes - 1, tlsmux.DirectPeekBytes, tlsmux.DirectPeekBytes + 1} {
		base := "GET /dev HTTP/1.1\r\n" + strings.Join(upgradeLines(n.Addr), "\r\n") + "\r\nX-Pad: \r\n\r\n"
		req := strings.Replace(base, "X-Pad: ", "X-Pad: "+strings.Repeat("p", size-len(base)), 1)
		if len(req) != size {
			t.Fatalf("head of %d bytes, want %d", len(req), size)
		}
		if a := exchange(t, n.Addr, req, true, 1); !strings.HasPrefix(a[0], "101 ") {
			t.Errorf("a head of %d bytes: %q, want 101", size, a[0])
		}
	}
}

// Thousands of connects and closes (upgrades closed by the client, clients that reset right
// after their head, refused upgrades) leave no goroutine serving a connection behind, and no
// connection in the hub.
func TestDirectConnectsLeaveNoGoroutines(t *testing.T) {
	before, _ := servingConnections() // other tests' connections, if any are still closing
	n := servertest.Start(t, pathsAPI)
	req := "GET /dev HTTP/1.1\r\n" + strings.Join(upgradeLines(n.Addr), "\r\n") + "\r\n\r\n"
	refused := "GET /dev HTTP/1.1\r\n" + strings.Join(slices.Delete(upgradeLines(n.Addr), 3, 4), "\r\n") + "\r\n\r\n"
	round := func(k int) {
		for i := range k {
			c, err := net.DialTimeout("tcp", n.Addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			switch i % 3 {
			case 0: // upgraded, then closed by the client
				_, _ = io.WriteString(c, req)
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
					t.Fatalf("connect %d: %v %v", i, resp, err)
				}
				_, _ = c.Write([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8}) // close 1000
			case 1: // reset right after the head
				_, _ = io.WriteString(c, req)
				_ = c.(*net.TCPConn).SetLinger(0)
			case 2: // refused, then closed
				_, _ = io.WriteString(c, refused)
				if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("refused connect %d: %v %v", i, resp, err)
				}
			}
			_ = c.Close()
		}
	}
	round(3000)
	// Counted by what they run, not runtime.NumGoroutine: in a full run the other tests' nodes
	// may still be winding down, and the pools keep up to 64 idle goroutines each by design.
	var got int
	var dump string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, dump = servingConnections(); got <= before && n.Server.Hub().Len() == 0 {
			return
		}
	}
	t.Fatalf("%d goroutines serving a connection (%d before) and %d connections in the hub 20s after 3,000 connects:\n%s", got, before, n.Server.Hub().Len(), dump)
}

// servingConnections counts the goroutines serving a connection's HTTP without net/http (in
// keepalive or serveDirect), with the stacks of all goroutines.
func servingConnections() (int, string) {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "internal/keepalive.") || strings.Contains(g, "server.(*Server).serveDirect") {
			n++
		}
	}
	return n, string(buf)
}

// A JWT authorizer's refusals (no token, a forged one) and its admission are answered the same
// whether the upgrade is served without net/http or by it.
func TestDirectUpgradeJWTAnswersAsNetHTTP(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) { return 200, "" })
	n := servertest.Start(t, fmt.Sprintf(jwtAPI, fn.URL(), testJWTSecret))
	lines := strings.Join(upgradeLines(n.Addr), "\r\n") + "\r\n\r\n"
	for target, want := range map[string]int{
		"/dev":                     401,
		"/dev?Authorization=x.y.z": 401,
		"/dev?Authorization=" + hs256(t, "another secret", userClaims("1")): 401,
		"/dev?Authorization=" + hs256(t, testJWTSecret, userClaims("1")):    101,
	} {
		req := "GET " + target + " HTTP/1.1\r\n" + lines
		fast, slow := exchange(t, n.Addr, req, true, 1), exchange(t, n.Addr, req, false, 1)
		if fast[0] != slow[0] || !strings.HasPrefix(fast[0], fmt.Sprint(want)+" ") {
			t.Errorf("%s: sent whole\n%s\nsent slowly (net/http)\n%s\nwant %d", target, fast[0], slow[0], want)
		}
	}
}

// With limits.handshakeHeaderBytes under the peek bound, a head over it but within 4 KB (which
// arrives whole and is served without net/http) gets the gateway's 431 as it does through
// net/http, and a head within it is upgraded; the same for limits.handshakeHeaders.
func TestDirectUpgradeSmallHeaderLimits(t *testing.T) {
	n := servertest.Start(t, pathsAPI+`
limits: { handshakeHeaderBytes: 512, handshakeHeaders: 10 }
`)
	pad := func(k int) []string { return []string{"X-Pad: " + strings.Repeat("p", k)} }
	var many []string
	for i := range 6 {
		many = append(many, fmt.Sprintf("X-H%d: v", i))
	}
	for _, tc := range []struct {
		name  string
		extra []string
		want  int
	}{
		{"within both", pad(100), 101},
		{"600 bytes", pad(600), 431},
		{"3 KB", pad(3000), 431},
		{"11 lines", many, 431},
	} {
		req := "GET /dev HTTP/1.1\r\n" + strings.Join(upgradeLines(n.Addr, tc.extra...), "\r\n") + "\r\n\r\n"
		fast, slow := exchange(t, n.Addr, req, true, 1), exchange(t, n.Addr, req, false, 1)
		if fast[0] != slow[0] || !strings.HasPrefix(fast[0], fmt.Sprint(tc.want)+" ") {
			t.Errorf("%s: sent whole\n%s\nsent slowly (net/http)\n%s\nwant %d", tc.name, fast[0], slow[0], tc.want)
		}
	}
}
