package integration

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/config"
)

func TestHTTPProxyConnect(t *testing.T) {
	be := startBackend(t, 200, "")
	be.header.Set("Sec-WebSocket-Protocol", "chat")
	in := mustNew(t, config.Integration{
		Type: config.HTTPProxy,
		URI:  be.URL + "/ws/${stageVariables.env}",
		RequestParameters: map[string]string{
			"integration.request.header.connectionId":          "context.connectionId",
			"integration.request.header.Sec-WebSocket-Version": "'0'",
			"integration.request.header.x-origin":              "route.request.header.ORIGIN",
			"integration.request.header.x-env":                 "stageVariables.env",
			"integration.request.header.x-msg":                 "context.messageId",
			"integration.request.header.x-absent":              "route.request.header.nope",
			"integration.request.querystring.token":            "route.request.querystring.token",
			"integration.request.querystring.cid":              "context.connectionId",
		},
	}, Options{StageVariables: map[string]string{"env": "prod"}})

	resp := mustInvoke(t, in, connectEvent())
	if resp.StatusCode != 200 || resp.Header.Get("Sec-WebSocket-Protocol") != "chat" {
		t.Fatalf("response %d %v", resp.StatusCode, resp.Header)
	}
	got := be.next(t)
	if got.Method != "POST" || got.Path != "/ws/prod" {
		t.Fatalf("request %s %s", got.Method, got.Path)
	}
	if got.RawQuery != "cid=Dwz4leekPHcCG6Q%3D&token=t0k" {
		t.Errorf("query %q", got.RawQuery)
	}
	want := map[string]string{
		"Sec-Websocket-Key":        "dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-Websocket-Version":    "0", // mapped header overrides the forwarded one
		"Sec-Websocket-Extensions": "permessage-deflate; client_max_window_bits",
		"Origin":                   "https://app.example.com",
		"X-Custom":                 "abc",
		"X-Forwarded-For":          "198.51.100.1, 203.0.113.7",
		"X-Amzn-Apigateway-Api-Id": "api1",
		"User-Agent":               "AmazonAPIGateway_api1",
		"Ws-Uri":                   "/rooms/42",
		"Connectionid":             "Dwz4leekPHcCG6Q=",
		"X-Origin":                 "https://app.example.com",
		"X-Env":                    "prod",
		"Connection":               "",
		"Upgrade":                  "",
		"X-Msg":                    "",
		"X-Absent":                 "",
		"Content-Type":             "",
	}
	for k, v := range want {
		if g := got.Header.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
	if n := len(got.Header.Values("Sec-Websocket-Version")); n != 1 {
		t.Errorf("Sec-WebSocket-Version sent %d times", n)
	}
	if got.ContentLength != 0 || len(got.Body) != 0 {
		t.Errorf("CONNECT body %q (length %d), want none", got.Body, got.ContentLength)
	}
}

func TestHTTPProxyMessage(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		b64        bool
		wantBody   string
		wantType   string
	}{
		{"json", `{"action":"send","user":{"id":7},"text":"hi"}`, false, `{"action":"send","user":{"id":7},"text":"hi"}`, "application/json"},
		{"text", `hello there`, false, "hello there", "text/plain; charset=utf-8"},
		{"binary", base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0xfe}), true, "\xff\x00\xfe", "application/octet-stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := startBackend(t, 200, `{"reply":true}`)
			in := mustNew(t, config.Integration{
				Type: config.HTTPProxy, URI: be.URL + "/msg",
				RequestParameters: map[string]string{
					"integration.request.header.connectionId": "context.connectionId",
					"integration.request.header.x-message-id": "context.messageId",
					"integration.request.header.x-user":       "route.request.body.user.id",
				},
			}, Options{})
			ev := messageEvent(tc.body)
			ev.IsBase64Encoded = tc.b64
			resp := mustInvoke(t, in, ev)
			if string(resp.Body) != `{"reply":true}` || resp.StatusCode != 200 {
				t.Fatalf("response %d %q", resp.StatusCode, resp.Body)
			}
			got := be.next(t)
			if string(got.Body) != tc.wantBody {
				t.Errorf("body %q, want %q", got.Body, tc.wantBody)
			}
			if got.ContentLength != int64(len(tc.wantBody)) || len(got.TransferEncoding) != 0 {
				t.Errorf("Content-Length %d, Transfer-Encoding %v: want a real length", got.ContentLength, got.TransferEncoding)
			}
			if g := got.Header.Get("Content-Type"); g != tc.wantType {
				t.Errorf("Content-Type %q, want %q", g, tc.wantType)
			}
			if g := got.Header.Get("Ws-Uri"); g != "/rooms/42" {
				t.Errorf("ws-uri %q", g)
			}
			if g := got.Header.Get("X-Forwarded-For"); g != "203.0.113.7" {
				t.Errorf("X-Forwarded-For %q", g)
			}
			if g := got.Header.Get("Connectionid"); g != "Dwz4leekPHcCG6Q=" {
				t.Errorf("connectionId %q", g)
			}
			if g := got.Header.Get("X-Message-Id"); g != "R1knPc2ntjMCFIA=" {
				t.Errorf("messageId %q", g)
			}
			wantUser := ""
			if tc.name == "json" {
				wantUser = "7"
			}
			if g := got.Header.Get("X-User"); g != wantUser {
				t.Errorf("x-user %q, want %q", g, wantUser)
			}
		})
	}
}

func TestHTTPProxyDisconnect(t *testing.T) {
	be := startBackend(t, 204, "")
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: be.URL + "/bye", Method: "delete"}, Options{})
	resp := mustInvoke(t, in, disconnectEvent())
	if resp.StatusCode != 204 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := be.next(t)
	if got.Method != "DELETE" || len(got.Body) != 0 {
		t.Fatalf("request %s body %q", got.Method, got.Body)
	}
	if got.Header.Get("X-Restapi") != "" || got.Header.Get("X-Api-Key") != "" {
		t.Errorf("DISCONNECT forwarded event headers: %v", got.Header)
	}
	if got.Header.Get("Ws-Uri") != "/rooms/42" || got.Header.Get("User-Agent") != "AmazonAPIGateway_api1" {
		t.Errorf("headers %v", got.Header)
	}
}

func TestHTTPProxyNon2xxIsAnAnswer(t *testing.T) {
	be := startBackend(t, 403, "nope")
	be.header.Set("X-Reason", "banned")
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: be.URL}, Options{})
	resp := mustInvoke(t, in, messageEvent("x"))
	if resp.StatusCode != 403 || string(resp.Body) != "nope" || resp.Header.Get("X-Reason") != "banned" {
		t.Fatalf("response %d %q %v", resp.StatusCode, resp.Body, resp.Header)
	}
}

func TestHTTPProxyTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: srv.URL, Timeout: config.Duration(50 * time.Millisecond)}, Options{})
	_, err := in.Invoke(context.Background(), messageEvent("x"))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out after 50ms") {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestHTTPProxyCallerCancel(t *testing.T) {
	be := startBackend(t, 200, "")
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: be.URL}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := in.Invoke(ctx, messageEvent("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestHTTPProxyUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: url}, Options{})
	if _, err := in.Invoke(context.Background(), messageEvent("x")); err == nil || !strings.Contains(err.Error(), `integration "test"`) {
		t.Fatalf("err = %v, want a named transport error", err)
	}
}

func TestHTTPProxyResponseTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 1<<20)
		for i := 0; i <= MaxResponseBytes>>20; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: srv.URL}, Options{})
	if _, err := in.Invoke(context.Background(), messageEvent("x")); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("err = %v, want a size error", err)
	}
}

func TestHTTPProxyBadBase64(t *testing.T) {
	be := startBackend(t, 200, "")
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: be.URL}, Options{})
	ev := messageEvent("!!!")
	ev.IsBase64Encoded = true
	if _, err := in.Invoke(context.Background(), ev); err == nil {
		t.Fatal("want an error for a body that is not base64")
	}
}

func TestNewErrors(t *testing.T) {
	sv := map[string]string{"env": "prod"}
	for _, tc := range []struct {
		name string
		cfg  config.Integration
		want string
	}{
		{"no type", config.Integration{URI: "http://x"}, "type is missing"},
		{"bad type", config.Integration{Type: "LAMBDA"}, `unknown type "LAMBDA"`},
		{"no uri", config.Integration{Type: config.HTTPProxy}, "uri is missing"},
		{"bad scheme", config.Integration{Type: config.HTTPProxy, URI: "htp://x"}, "use an absolute http:// or https:// URL"},
		{"relative", config.Integration{Type: config.HTTP, URI: "/ws"}, "use an absolute"},
		{"undefined stage var", config.Integration{Type: config.HTTPProxy, URI: "http://${stageVariables.host}/x"}, `stage variable "host" is not defined`},
		{"unclosed stage var", config.Integration{Type: config.HTTPProxy, URI: "http://${stageVariables.host/x"}, "unclosed"},
		{"timeout low", config.Integration{Type: config.HTTPProxy, URI: "http://x", Timeout: config.Duration(time.Millisecond)}, "outside 50ms..29s"},
		{"timeout high", config.Integration{Type: config.HTTPProxy, URI: "http://x", Timeout: config.Duration(time.Minute)}, "outside"},
		{"param target", config.Integration{Type: config.HTTPProxy, URI: "http://x", RequestParameters: map[string]string{"integration.request.body.x": "'a'"}}, "unknown target"},
		{"param path", config.Integration{Type: config.HTTPProxy, URI: "http://x", RequestParameters: map[string]string{"integration.request.path.x": "'a'"}}, "path parameters are not supported"},
		{"param empty name", config.Integration{Type: config.HTTPProxy, URI: "http://x", RequestParameters: map[string]string{"integration.request.header.": "'a'"}}, "no name"},
		{"param dollar", config.Integration{Type: config.HTTPProxy, URI: "http://x", RequestParameters: map[string]string{"integration.request.header.c": "$context.connectionId"}}, "without the leading $"},
		{"param source", config.Integration{Type: config.HTTPProxy, URI: "http://x", RequestParameters: map[string]string{"integration.request.header.c": "method.request.header.x"}}, "use context.VAR"},
		{"param stage var", config.Integration{Type: config.HTTPProxy, URI: "http://x", RequestParameters: map[string]string{"integration.request.header.c": "stageVariables.nope"}}, `stage variable "nope"`},
		{"param empty source", config.Integration{Type: config.HTTPProxy, URI: "http://x", RequestParameters: map[string]string{"integration.request.header.c": "context."}}, "no name"},
		{"param bad body path", config.Integration{Type: config.HTTPProxy, URI: "http://x", RequestParameters: map[string]string{"integration.request.header.c": "route.request.body.a[x"}}, "route.request.body.a[x"},
		{"proxy with templates", config.Integration{Type: config.HTTPProxy, URI: "http://x", RequestTemplates: map[string]string{"$default": "x"}}, "use type: HTTP"},
		{"lambda no uri", config.Integration{Type: config.AWSProxy}, "function name or ARN"},
		{"lambda templates", config.Integration{Type: config.AWSProxy, URI: "f", RequestTemplates: map[string]string{"$default": "x"}}, "AWS_PROXY takes no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("app", tc.cfg, Options{StageVariables: sv})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `integration "app"`) {
				t.Fatalf("err = %v, want it to name the integration and contain %q", err, tc.want)
			}
		})
	}
}

func TestExpandStageVars(t *testing.T) {
	got, err := expandStageVars("http://${stageVariables.h}:${stageVariables.p}/x${stageVariables.h}", map[string]string{"h": "a", "p": "1"})
	if err != nil || got != "http://a:1/xa" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestDebugLog(t *testing.T) {
	be := startBackend(t, 202, "")
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	in := mustNew(t, config.Integration{Type: config.HTTPProxy, URI: be.URL}, Options{Logger: log})
	mustInvoke(t, in, messageEvent("x"))
	if s := buf.String(); !strings.Contains(s, "integration call") || !strings.Contains(s, "status=202") || !strings.Contains(s, "integration=test") {
		t.Fatalf("log %q", s)
	}
}
