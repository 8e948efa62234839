package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/lambda"
)

// invokeAPI is a Lambda-Invoke-compatible server (the shape the Runtime Interface Emulator
// serves): it decodes each posted event as aws-lambda-go does and answers with result.
type invokeAPI struct {
	*httptest.Server
	events  chan events.APIGatewayWebsocketProxyRequest
	paths   chan string
	result  string
	funcErr string
}

func startInvokeAPI(t *testing.T, result string) *invokeAPI {
	t.Helper()
	a := &invokeAPI{events: make(chan events.APIGatewayWebsocketProxyRequest, 8), paths: make(chan string, 8), result: result}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.paths <- r.Method + " " + r.URL.Path
		var ev events.APIGatewayWebsocketProxyRequest
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		a.events <- ev
		if a.funcErr != "" {
			w.Header().Set("X-Amz-Function-Error", a.funcErr)
		}
		io.WriteString(w, a.result)
	}))
	t.Cleanup(a.Close)
	return a
}

func TestAWSProxyEvents(t *testing.T) {
	api := startInvokeAPI(t, `{"statusCode":200,"body":"ok"}`)
	in := mustNew(t, config.Integration{Type: config.AWSProxy, URI: "chat-handler", Endpoint: api.URL}, Options{})

	// CONNECT
	cev := connectEvent()
	cev.RequestContext.Authorizer = map[string]any{"principalId": "u1", "plan": "pro"}
	resp := mustInvoke(t, in, cev)
	if resp.StatusCode != 200 || string(resp.Body) != "ok" {
		t.Fatalf("response %d %q", resp.StatusCode, resp.Body)
	}
	if p := <-api.paths; p != "POST /2015-03-31/functions/chat-handler/invocations" {
		t.Fatalf("invoke path %q", p)
	}
	got := <-api.events
	rc := got.RequestContext
	if rc.RouteKey != "$connect" || rc.EventType != "CONNECT" || rc.ConnectionID != "Dwz4leekPHcCG6Q=" ||
		rc.Stage != "dev" || rc.APIID != "api1" || rc.DomainName != "ws.example.com" ||
		rc.Identity.SourceIP != "203.0.113.7" || rc.ConnectedAt != testNow.UnixMilli() ||
		rc.RequestTimeEpoch != testNow.UnixMilli() || rc.RequestTime != "20/Jan/2024:11:55:00 +0000" ||
		rc.MessageDirection != "IN" || rc.RequestID == "" || rc.ExtendedRequestID != rc.RequestID {
		t.Errorf("CONNECT requestContext %+v", rc)
	}
	if got.Headers["Sec-WebSocket-Key"] != "dGhlIHNhbXBsZSBub25jZQ==" || got.QueryStringParameters["token"] != "t0k" {
		t.Errorf("CONNECT headers %v query %v", got.Headers, got.QueryStringParameters)
	}
	if a, ok := rc.Authorizer.(map[string]any); !ok || a["principalId"] != "u1" || a["plan"] != "pro" {
		t.Errorf("authorizer %#v", rc.Authorizer)
	}

	// MESSAGE
	mustInvoke(t, in, messageEvent(`{"action":"send"}`))
	<-api.paths
	got = <-api.events
	if got.RequestContext.EventType != "MESSAGE" || got.RequestContext.RouteKey != "$default" ||
		got.RequestContext.MessageID != "R1knPc2ntjMCFIA=" || got.Body != `{"action":"send"}` || got.IsBase64Encoded || got.Headers != nil {
		t.Errorf("MESSAGE event %+v", got)
	}

	// DISCONNECT
	mustInvoke(t, in, disconnectEvent())
	<-api.paths
	got = <-api.events
	if got.RequestContext.EventType != "DISCONNECT" || got.RequestContext.DisconnectStatusCode != 1001 ||
		got.RequestContext.DisconnectReason == nil || *got.RequestContext.DisconnectReason != "Going away" || got.Body != "" {
		t.Errorf("DISCONNECT event %+v", got.RequestContext)
	}
}

func TestAWSProxyLenientResults(t *testing.T) {
	for _, tc := range []struct {
		name, result string
		status       int
		body         string
		header       [2]string
	}{
		{"aws sample strings", `{"isBase64Encoded":"false","statusCode":"200","headers":{},"body":"{\"a\":1}"}`, 200, `{"a":1}`, [2]string{}},
		{"base64", `{"statusCode":201,"isBase64Encoded":true,"body":"aGVsbG8="}`, 201, "hello", [2]string{}},
		{"subprotocol", `{"statusCode":200,"headers":{"Sec-WebSocket-Protocol":"graphql-ws"}}`, 200, "", [2]string{"Sec-WebSocket-Protocol", "graphql-ws"}},
		{"refuse", `{"statusCode":401}`, 401, "", [2]string{}},
		{"null", `null`, 200, "", [2]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := startInvokeAPI(t, tc.result)
			in := mustNew(t, config.Integration{Type: config.AWSProxy, URI: "arn:aws:lambda:us-east-1:123456789012:function:f", Endpoint: api.URL}, Options{})
			resp := mustInvoke(t, in, messageEvent("{}"))
			if p := <-api.paths; p != "POST /2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f/invocations" {
				t.Errorf("path %q", p)
			}
			if resp.StatusCode != tc.status || string(resp.Body) != tc.body {
				t.Fatalf("response %d %q, want %d %q", resp.StatusCode, resp.Body, tc.status, tc.body)
			}
			if tc.header[0] != "" && resp.Header.Get(tc.header[0]) != tc.header[1] {
				t.Fatalf("header %s = %q", tc.header[0], resp.Header.Get(tc.header[0]))
			}
		})
	}
}

func TestAWSProxyFunctionError(t *testing.T) {
	api := startInvokeAPI(t, `{"errorMessage":"boom","errorType":"Error"}`)
	api.funcErr = "Unhandled"
	in := mustNew(t, config.Integration{Type: config.AWSProxy, URI: "f", Endpoint: api.URL}, Options{})
	_, err := in.Invoke(context.Background(), messageEvent("{}"))
	var fe *lambda.FunctionError
	if !errors.As(err, &fe) || fe.Message != "boom" {
		t.Fatalf("err = %v, want a *lambda.FunctionError", err)
	}
}

func TestAWSProxyInvalidResult(t *testing.T) {
	api := startInvokeAPI(t, `{"statusCode":"abc"}`)
	in := mustNew(t, config.Integration{Type: config.AWSProxy, URI: "f", Endpoint: api.URL}, Options{})
	if _, err := in.Invoke(context.Background(), messageEvent("{}")); err == nil || !strings.Contains(err.Error(), "statusCode") {
		t.Fatalf("err = %v, want an invalid-result error", err)
	}
}
