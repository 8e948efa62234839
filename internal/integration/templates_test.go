package integration

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/config"
)

// dotNetify's CloudFormation template (docs/aws-compatibility.md): three HTTP integrations with
// `\$default` selection, WHEN_NO_MATCH, a $default integration response, no request parameters.
func dotNetifyIntegration(uri, tmpl string) config.Integration {
	return config.Integration{
		Type:                        config.HTTP,
		URI:                         uri,
		Method:                      "POST",
		TemplateSelectionExpression: `\$default`,
		PassthroughBehavior:         config.WhenNoMatch,
		RequestTemplates:            map[string]string{"$default": tmpl},
		Responses:                   map[string]config.IntegrationResponse{"$default": {}},
	}
}

func TestDotNetifyTemplates(t *testing.T) {
	be := startBackend(t, 200, "")
	const connectTmpl = `{ "connectionId": "$context.connectionId" }`
	const defaultTmpl = `{ "connectionId": "$context.connectionId", "payload": $input.body }`
	connect := mustNew(t, dotNetifyIntegration(be.URL+"/api/dotnetify/vm", connectTmpl), Options{})
	message := mustNew(t, dotNetifyIntegration(be.URL+"/api/dotnetify/vm", defaultTmpl), Options{})
	disconnect := mustNew(t, dotNetifyIntegration(be.URL+"/api/dotnetify/vm/disconnect", connectTmpl), Options{})

	frame := `{"callType":"request_vm","vmId":"HelloWorld","vmArgs":"{\"id\":1}"}`
	for _, tc := range []struct {
		name     string
		in       Integration
		ev       func() *evt
		path     string
		wantBody string
	}{
		{"$connect", connect, func() *evt { return connectEvent() }, "/api/dotnetify/vm", `{ "connectionId": "Dwz4leekPHcCG6Q=" }`},
		{"$default", message, func() *evt { return messageEvent(frame) }, "/api/dotnetify/vm", `{ "connectionId": "Dwz4leekPHcCG6Q=", "payload": ` + frame + ` }`},
		{"$disconnect", disconnect, func() *evt { return disconnectEvent() }, "/api/dotnetify/vm/disconnect", `{ "connectionId": "Dwz4leekPHcCG6Q=" }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := mustInvoke(t, tc.in, tc.ev())
			if resp.StatusCode != 200 || len(resp.Body) != 0 {
				t.Fatalf("response %d %q: want 200 and nothing to send back", resp.StatusCode, resp.Body)
			}
			got := be.next(t)
			if got.Path != tc.path || got.Method != "POST" {
				t.Errorf("request %s %s", got.Method, got.Path)
			}
			if string(got.Body) != tc.wantBody {
				t.Errorf("body\n got %s\nwant %s", got.Body, tc.wantBody)
			}
			if ct := got.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q: dotNetify's [ApiController] needs application/json", ct)
			}
			if got.ContentLength != int64(len(tc.wantBody)) || len(got.TransferEncoding) != 0 {
				t.Errorf("Content-Length %d (%v): dotNetify's middleware needs a real length", got.ContentLength, got.TransferEncoding)
			}
		})
	}
}

func TestHTTPTemplateSelection(t *testing.T) {
	be := startBackend(t, 200, "")
	in := mustNew(t, config.Integration{
		Type: config.HTTP, URI: be.URL,
		TemplateSelectionExpression: "${request.body.kind}",
		RequestTemplates: map[string]string{
			"chat":     `chat:$input.json('$.text')`,
			"$default": `default:$context.routeKey`,
		},
		RequestParameters: map[string]string{"integration.request.header.x-kind": "route.request.body.kind"},
	}, Options{})
	for frame, want := range map[string]string{
		`{"kind":"chat","text":"hi"}`: `chat:"hi"`,
		`{"kind":"other"}`:            `default:$default`,
		`not json`:                    `default:$default`,
	} {
		mustInvoke(t, in, messageEvent(frame))
		got := be.next(t)
		if string(got.Body) != want {
			t.Errorf("frame %s: body %q, want %q", frame, got.Body, want)
		}
	}
}

func TestPassthroughBehavior(t *testing.T) {
	onlyChat := map[string]string{"chat": "templated"}
	for _, tc := range []struct {
		name     string
		behavior string
		tmpls    map[string]string
		wantBody string // "" with wantErr
		wantErr  bool
	}{
		{"when_no_match no match", config.WhenNoMatch, onlyChat, `{"kind":"x"}`, false},
		{"default is when_no_match", "", onlyChat, `{"kind":"x"}`, false},
		{"when_no_match match", config.WhenNoMatch, map[string]string{"x": "templated"}, "templated", false},
		{"when_no_templates none", config.WhenNoTemplates, nil, `{"kind":"x"}`, false},
		{"when_no_templates some", config.WhenNoTemplates, onlyChat, "", true},
		{"never none", config.Never, nil, "", true},
		{"never no match", config.Never, onlyChat, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := startBackend(t, 200, "")
			in := mustNew(t, config.Integration{
				Type: config.HTTP, URI: be.URL, PassthroughBehavior: tc.behavior,
				TemplateSelectionExpression: "$request.body.kind", RequestTemplates: tc.tmpls,
			}, Options{})
			_, err := in.Invoke(context.Background(), messageEvent(`{"kind":"x"}`))
			if tc.wantErr {
				if !errors.Is(err, ErrUnsupportedMediaType) {
					t.Fatalf("err = %v, want ErrUnsupportedMediaType", err)
				}
				if len(be.got) != 0 {
					t.Fatal("backend was called")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := be.next(t); string(got.Body) != tc.wantBody {
				t.Fatalf("body %q, want %q", got.Body, tc.wantBody)
			}
		})
	}
}

func TestIntegrationResponses(t *testing.T) {
	responses := map[string]config.IntegrationResponse{
		`/2\d\d/`: {Templates: map[string]string{"$default": `{"ok":$input.body,"route":"$context.routeKey"}`}},
		`/4\d\d/`: {
			TemplateSelectionExpression: "${integration.response.header.X-Kind}",
			Templates: map[string]string{
				"soft":     `soft:$input.path('$.why')`,
				"$default": `hard:$context.connectionId`,
			},
		},
		`/30\d/`:   {}, // no template: body passes through
		"$default": {Templates: map[string]string{"$default": `fallback`}},
	}
	for _, tc := range []struct {
		status int
		kind   string
		body   string
		want   string
	}{
		{200, "", `{"a":1}`, `{"ok":{"a":1},"route":"$default"}`},
		{201, "", `1`, `{"ok":1,"route":"$default"}`},
		{404, "soft", `{"why":"gone"}`, `soft:gone`},
		{404, "other", `x`, `hard:Dwz4leekPHcCG6Q=`},
		{301, "", `moved`, `moved`},
		{2000, "", `x`, `fallback`}, // /2\d\d/ must match the whole code
		{500, "", `oops`, `fallback`},
	} {
		be := startBackend(t, min(tc.status, 599), tc.body)
		if tc.kind != "" {
			be.header.Set("X-Kind", tc.kind)
		}
		in := mustNew(t, config.Integration{Type: config.HTTP, URI: be.URL, Responses: responses}, Options{})
		if tc.status > 599 {
			// A status the HTTP client cannot receive: exercise matching directly.
			rs, err := compileResponses(responses)
			if err != nil {
				t.Fatal(err)
			}
			if ir := rs.match(tc.status); ir == nil || ir.key != "$default" {
				t.Errorf("status %d matched %v, want $default", tc.status, ir)
			}
			continue
		}
		resp := mustInvoke(t, in, messageEvent(`{}`))
		if resp.StatusCode != tc.status || string(resp.Body) != tc.want {
			t.Errorf("status %d kind %q: got %d %q, want %q", tc.status, tc.kind, resp.StatusCode, resp.Body, tc.want)
		}
	}
}

func TestResponseWithoutMatchIsRaw(t *testing.T) {
	be := startBackend(t, 500, "raw")
	in := mustNew(t, config.Integration{Type: config.HTTP, URI: be.URL, Responses: map[string]config.IntegrationResponse{
		"/200/": {Templates: map[string]string{"$default": "templated"}},
	}}, Options{})
	if resp := mustInvoke(t, in, messageEvent(`x`)); resp.StatusCode != 500 || string(resp.Body) != "raw" {
		t.Fatalf("got %d %q", resp.StatusCode, resp.Body)
	}
}

// The aws-samples apigw-ws-integrations $connect (docs/aws-compatibility.md): a DynamoDB PutItem
// template reading $input.params('ws-uri'), run against an HTTP stand-in.
func TestAWSServiceStandin(t *testing.T) {
	be := startBackend(t, 200, `{}`)
	in := mustNew(t, config.Integration{
		Type:                        config.AWS,
		URI:                         "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem",
		Standin:                     be.URL + "/dynamodb",
		TemplateSelectionExpression: `\$default`,
		RequestTemplates: map[string]string{"$default": `#set($ttl = $context.requestTimeEpoch + 86400)
{"TableName": "sessions", "Item": {"connectionid": {"S": "$context.connectionId"}, "path": {"S": "$input.params('ws-uri')"}, "token": {"S": "$input.params('token')"}, "ttl": {"N": "$ttl"}}}`},
		Responses: map[string]config.IntegrationResponse{"/200/": {TemplateSelectionExpression: `\$default`}},
	}, Options{})
	resp := mustInvoke(t, in, connectEvent())
	if resp.StatusCode != 200 || string(resp.Body) != `{}` {
		t.Fatalf("response %d %q", resp.StatusCode, resp.Body)
	}
	got := be.next(t)
	want := `
{"TableName": "sessions", "Item": {"connectionid": {"S": "Dwz4leekPHcCG6Q="}, "path": {"S": "/rooms/42"}, "token": {"S": "t0k"}, "ttl": {"N": "1705751786400"}}}`
	if strings.TrimSpace(string(got.Body)) != strings.TrimSpace(want) {
		t.Errorf("body\n got %s\nwant %s", got.Body, want)
	}
	if got.Path != "/dynamodb" || got.Header.Get(AWSURIHeader) != "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem" {
		t.Errorf("request %s %v", got.Path, got.Header)
	}
	if got.Header.Get("Sec-Websocket-Key") != "" {
		t.Errorf("stand-in received the client's handshake headers")
	}
}

func TestAWSServiceNeedsURI(t *testing.T) {
	_, err := New("ddb", config.Integration{Type: config.AWS}, Options{})
	if err == nil || !strings.Contains(err.Error(), "uri is missing") {
		t.Fatalf("err = %v", err)
	}
}

func TestMock(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   config.Integration
		frame string
		code  int
		want  string
	}{
		{"echo without templates", config.Integration{Type: config.Mock}, `{"action":"echo","x":1}`, 200, `{"action":"echo","x":1}`},
		{"echo through response template", config.Integration{
			Type:             config.Mock,
			RequestTemplates: map[string]string{"$default": `{"statusCode": 200, "echo": $input.body}`},
			Responses:        map[string]config.IntegrationResponse{"$default": {Templates: map[string]string{"$default": `$input.json('$.echo')`}}},
		}, `{"msg":"hi"}`, 200, `{"msg":"hi"}`},
		{"status from template", config.Integration{
			Type:                        config.Mock,
			TemplateSelectionExpression: `\$default`,
			RequestTemplates:            map[string]string{"$default": `{"statusCode": #if($input.path('$.ok'))"200"#else 404#end}`},
			Responses: map[string]config.IntegrationResponse{
				"/404/":    {Templates: map[string]string{"$default": `{"error":"not found","id":"$context.messageId"}`}},
				"$default": {Templates: map[string]string{"$default": `{"ok":true}`}},
			},
		}, `{"ok":false}`, 404, `{"error":"not found","id":"R1knPc2ntjMCFIA="}`},
		{"status ok", config.Integration{
			Type:             config.Mock,
			RequestTemplates: map[string]string{"$default": `{"statusCode": #if($input.path('$.ok'))"200"#else 404#end}`},
			Responses:        map[string]config.IntegrationResponse{"$default": {Templates: map[string]string{"$default": `{"ok":true}`}}},
		}, `{"ok":true}`, 200, `{"ok":true}`},
		{"no statusCode is 200", config.Integration{Type: config.Mock, RequestTemplates: map[string]string{"$default": `{}`}}, `x`, 200, `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := mustNew(t, tc.cfg, Options{})
			resp := mustInvoke(t, in, messageEvent(tc.frame))
			if resp.StatusCode != tc.code || string(resp.Body) != tc.want {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, resp.Body, tc.code, tc.want)
			}
		})
	}
}

func TestMockErrors(t *testing.T) {
	for _, tmpl := range []string{`not json`, `{"statusCode": "abc"}`, `{"statusCode": 42}`} {
		in := mustNew(t, config.Integration{Type: config.Mock, RequestTemplates: map[string]string{"$default": tmpl}}, Options{})
		if _, err := in.Invoke(context.Background(), messageEvent(`{}`)); err == nil || !strings.Contains(err.Error(), "MOCK") {
			t.Errorf("template %s: err = %v, want a MOCK template error", tmpl, err)
		}
	}
}

func TestTemplateConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  config.Integration
		want string
	}{
		{"passthrough", config.Integration{Type: config.Mock, PassthroughBehavior: "ALWAYS"}, "use WHEN_NO_MATCH"},
		{"selection", config.Integration{Type: config.Mock, TemplateSelectionExpression: "$default.x"}, "templateSelectionExpression"},
		{"template syntax", config.Integration{Type: config.Mock, RequestTemplates: map[string]string{"$default": "#if("}}, `requestTemplates["$default"]`},
		{"response regex", config.Integration{Type: config.Mock, Responses: map[string]config.IntegrationResponse{"/(/": {}}}, `responses["/(/"]`},
		{"response empty key", config.Integration{Type: config.Mock, Responses: map[string]config.IntegrationResponse{"//": {}}}, "empty key"},
		{"response template", config.Integration{Type: config.Mock, Responses: map[string]config.IntegrationResponse{"$default": {Templates: map[string]string{"$default": "#foreach("}}}}, `responses["$default"].templates`},
		{"mock uri", config.Integration{Type: config.Mock, URI: "http://x"}, "MOCK calls no backend"},
		{"standin uri", config.Integration{Type: config.AWS, Standin: "ftp://x"}, "standin: uri"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("m", tc.cfg, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
