package cli

// Mapping templates end to end through `wsgate serve --template`: AWS service integrations
// routed to HTTP stand-ins (the rendered DynamoDB / Step Functions requests), and HTTP
// integrations with template selection, stage variables in the URI and integration responses.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// backendCall is one request a stand-in or HTTP backend received.
type backendCall struct {
	method, path string
	header       http.Header
	body         []byte
}

// recorder is an HTTP backend that records each call and answers with reply.
func recorder(t *testing.T, reply func(c backendCall, w http.ResponseWriter)) (url string, calls <-chan backendCall) {
	t.Helper()
	ch := make(chan backendCall, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c := backendCall{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body}
		ch <- c
		reply(c, w)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

func decodeJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("not JSON (%v): %s", err, b)
	}
}

// The dynamodb template with every AWS integration given a stand-in: $connect's PutItem and
// $disconnect's DeleteItem templates are rendered with the connection id, the ws-uri path and
// $context.requestTimeEpoch; sync_sfn's Step Functions request escapes the data with
// $util.escapeJavaScript and its integration response picks $.output.
func TestServeTemplateDynamoDBStandin(t *testing.T) {
	standin, calls := recorder(t, func(c backendCall, w http.ResponseWriter) {
		if c.path == "/sfn" {
			_, _ = w.Write([]byte(`{"output":"{\"done\":true}","status":"SUCCEEDED"}`))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	})
	var mu sync.Mutex
	var defaults []events.APIGatewayWebsocketProxyRequest
	fnURL := invokeAPI(t, map[string]any{
		"DefaultFunction": func(req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			mu.Lock()
			defaults = append(defaults, req)
			mu.Unlock()
			return events.APIGatewayProxyResponse{StatusCode: 200, Body: "id:" + req.RequestContext.ConnectionID}, nil
		},
	})
	s := startServe(t, "--template", filepath.Join(templates, "dynamodb", "template.yaml"),
		"--standin", "ConnectIntegration="+standin+"/put",
		"--standin", "DisconnectIntegration="+standin+"/delete",
		"--standin", "SyncIntegration="+standin+"/sfn",
		"--function", "DefaultFunction="+fnURL)

	before := time.Now().UnixMilli()
	c := dialWS(t, "ws://"+s.addr+"/api/rooms/42", nil)
	put := recv(t, calls, "the PutItem stand-in call")
	if put.path != "/put" || put.method != http.MethodPost {
		t.Fatalf("PutItem went to %s %s", put.method, put.path)
	}
	var item struct {
		TableName string
		Item      struct {
			Connectionid, Path struct{ S string }
			TTL                struct{ N string } `json:"ttl"`
		}
	}
	decodeJSON(t, put.body, &item)

	// The connection id the stand-in got is the one the Lambda sees.
	sendWS(t, c, `{"action":"hello"}`)
	answer := readWS(t, c)
	mu.Lock()
	id := defaults[0].RequestContext.ConnectionID
	mu.Unlock()
	if answer != "id:"+id {
		t.Fatalf("$default answered %q, Lambda saw %q", answer, id)
	}
	// The unnamed table gets CloudFormation's name shape, the same on every run.
	const table = "wsgate-SessionsTable-SHDNZ2BZBGYAH"
	if item.TableName != table || item.Item.Connectionid.S != id || item.Item.Path.S != "/rooms/42" {
		t.Fatalf("PutItem request: %s\nwant table %s, connection %s, path /rooms/42", put.body, table, id)
	}
	// $context.requestTimeEpoch is in milliseconds on AWS (the sample adds 86400 to it as if it
	// were seconds; wsgate keeps AWS's unit).
	ttl, err := strconv.ParseInt(item.Item.TTL.N, 10, 64)
	if err != nil || ttl < before+86400 || ttl > time.Now().UnixMilli()+86400 {
		t.Fatalf("ttl %q is not requestTimeEpoch (ms) + 86400 (now %d ms)", item.Item.TTL.N, time.Now().UnixMilli())
	}

	sendWS(t, c, `{"action":"sync_sfn","data":{"msg":"it's \"quoted\""}}`)
	sfn := recv(t, calls, "the StartSyncExecution stand-in call")
	var start struct{ Input, StateMachineArn string }
	decodeJSON(t, sfn.body, &start)
	if start.Input != `{"msg":"it's \"quoted\""}` || start.StateMachineArn != "arn:aws:states:us-east-1:123456789012:stateMachine:SyncStateMachine-G0fmUfQa9Z5H" {
		t.Fatalf("StartSyncExecution request: %s", sfn.body)
	}
	if got := readWS(t, c); got != `"{\"done\":true}"` {
		t.Fatalf("route response %q, want $input.json('$.output') of the stand-in's answer", got)
	}

	closeWS(t, c)
	del := recv(t, calls, "the DeleteItem stand-in call")
	var key struct {
		TableName string
		Key       struct{ Connectionid struct{ S string } }
	}
	decodeJSON(t, del.body, &key)
	if del.path != "/delete" || key.TableName != table || key.Key.Connectionid.S != id {
		t.Fatalf("DeleteItem request to %s: %s", del.path, del.body)
	}
}

// The http-templates template: the send route's HTTP integration URI comes from stage
// variables (set by a --parameter), the request template is chosen by $request.body.kind,
// NEVER passthrough refuses a kind without a template, and the integration response's template
// is chosen by a backend header.
func TestServeTemplateHTTPMappingTemplates(t *testing.T) {
	backend, calls := recorder(t, func(c backendCall, w http.ResponseWriter) {
		var m map[string]any
		_ = json.Unmarshal(c.body, &m)
		switch {
		case m["text"] == "fail":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"message":"text \"fail\" rejected"}`))
		case m["text"] != nil:
			w.Header().Set("X-Result", "stored")
			_, _ = w.Write([]byte(`{"id":7,"room":"` + c.header.Get("X-Room") + `"}`))
		default:
			_, _ = w.Write([]byte(`raw answer`))
		}
	})
	connected := make(chan string, 1)
	fnURL := invokeAPI(t, map[string]any{
		"chat-connect": func(req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			connected <- req.RequestContext.ConnectionID
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		},
		"DisconnectFunction": func() error { return nil },
	})
	s := startServe(t, "--template", filepath.Join(templates, "http-templates", "template.yaml"),
		"--stack-name", "chat", "--function", "chat-connect="+fnURL, "--function", "DisconnectFunction="+fnURL,
		"--parameter", "BackendHost="+backend[len("http://"):], "--parameter", "Rooms=general,random")
	c := dialWS(t, "ws://"+s.addr+"/dev", nil)
	id := recv(t, connected, "the $connect invocation")

	sendWS(t, c, `{"action":"send","kind":"text","text":"say \"hi\"","tags":["a","b"],"urgent":true}`)
	call := recv(t, calls, "the backend call")
	if call.method != http.MethodPut || call.path != "/rooms/general/messages" ||
		call.header.Get("X-Connection-Id") != id || call.header.Get("X-Room") != "general" {
		t.Fatalf("backend got %s %s %v", call.method, call.path, call.header)
	}
	var msg struct {
		ConnectionID, Room, Text, Priority string
		Tags                               []string
	}
	decodeJSON(t, call.body, &msg)
	if msg.ConnectionID != id || msg.Room != "general" || msg.Text != `say "hi"` || msg.Priority != "high" ||
		len(msg.Tags) != 2 || msg.Tags[0] != "a" || msg.Tags[1] != "b" {
		t.Fatalf("rendered text template: %s", call.body)
	}
	if got := readWS(t, c); got != "stored #7 in general" {
		t.Fatalf("route response %q, want the 'stored' response template", got)
	}

	sendWS(t, c, `{"action":"send","kind":"blob","data":{"x":1}}`)
	call = recv(t, calls, "the blob call")
	var blob struct{ ConnectionID, Data string }
	decodeJSON(t, call.body, &blob)
	if blob.ConnectionID != id || blob.Data != "eyJ4IjoxfQ==" { // base64 of {"x":1}
		t.Fatalf("rendered blob template: %s", call.body)
	}
	if got := readWS(t, c); got != "raw answer" {
		t.Fatalf("route response %q, want the $default response template ($input.body)", got)
	}

	sendWS(t, c, `{"action":"send","kind":"text","text":"fail"}`)
	recv(t, calls, "the failing call")
	if got := readWS(t, c); got != `{"error": "text \"fail\" rejected"}` {
		t.Fatalf("route response %q, want the /4\\d\\d/ response template", got)
	}

	// NEVER passthrough: a kind without a template is refused (the error frame) without
	// calling the backend; the next message still goes through.
	sendWS(t, c, `{"action":"send","kind":"video"}`)
	var refused struct{ Message string }
	decodeJSON(t, []byte(readWS(t, c)), &refused)
	if refused.Message != "Internal server error" {
		t.Fatalf("unmatched kind answered %+v", refused)
	}
	sendWS(t, c, `{"action":"send","kind":"text","text":"after","tags":[]}`)
	if call := recv(t, calls, "the call after the refusal"); !json.Valid(call.body) {
		t.Fatalf("after the refusal the backend got %s (the refused message must not reach it)", call.body)
	} else if decodeJSON(t, call.body, &msg); msg.Text != "after" || msg.Priority != "normal" || len(msg.Tags) != 0 {
		t.Fatalf("after the refusal the backend got %s", call.body)
	}
	if got := readWS(t, c); got != "stored #7 in general" {
		t.Fatalf("route response %q", got)
	}
}
