package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/sigv4"
)

// signedCall is one request the SQS recorder received, with what wsgate's own SigV4 verifier
// said about it.
type signedCall struct {
	method, path, contentType, auth string
	form                            url.Values
	verr                            error
}

// sqsTemplate routes "send" to an SQS SendMessage integration whose QueueUrl is !Ref Queue.
const sqsTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: sqs, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: prod}
  SendRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: send, RouteResponseSelectionExpression: $default, Target: !Sub "integrations/${Send}"}
  Send:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS
      IntegrationMethod: POST
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:sqs:action/SendMessage
      TemplateSelectionExpression: \$default
      RequestTemplates:
        $default: !Sub QueueUrl=$util.urlEncode("${Queue}")&MessageBody=$util.urlEncode($input.body)
  SendResponse:
    Type: AWS::ApiGatewayV2::IntegrationResponse
    Properties:
      ApiId: !Ref Api
      IntegrationId: !Ref Send
      IntegrationResponseKey: /2\d\d/
      ResponseTemplates: {$default: '{"queued": true}'}
  Queue:
    Type: AWS::SQS::Queue
`

// An SQS SendMessage integration of a template reaches the SQS endpoint as a well-formed,
// correctly signed query-protocol request (checked with wsgate's own SigV4 verifier), and the
// queue URL !Ref gives points at that endpoint.
func TestServeTemplateSQSSendMessage(t *testing.T) {
	awsTestEnv(t)
	v := sigv4.New(sigv4.Options{Credentials: map[string]string{"AKIDLOCAL": "local"}, Service: "sqs", Regions: []string{"us-east-1"}})
	calls := make(chan signedCall, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c := signedCall{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"), auth: r.Header.Get("Authorization"), verr: v.Verify(r, body)}
		c.form, _ = url.ParseQuery(string(body))
		calls <- c
		io.WriteString(w, `<SendMessageResponse><SendMessageResult><MessageId>1</MessageId></SendMessageResult></SendMessageResponse>`)
	}))
	t.Cleanup(srv.Close)
	tmpl := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(tmpl, []byte(sqsTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "--template", tmpl, "--aws-endpoint-url", "sqs="+srv.URL, "--create-resources=false")

	c := dialWS(t, "ws://"+s.addr+"/prod", nil)
	sendWS(t, c, `{"action":"send","text":"a b & c"}`)
	if got := readWS(t, c); got != `{"queued": true}` {
		t.Errorf("route response %q", got)
	}
	call := recv(t, calls, "the SendMessage request")
	if call.verr != nil {
		t.Errorf("wsgate's SigV4 verifier rejects the request: %v (Authorization %s)", call.verr, call.auth)
	}
	if call.method != http.MethodPost || call.path != "/" || !strings.HasPrefix(call.contentType, "application/x-www-form-urlencoded") {
		t.Errorf("%s %s Content-Type %q, want a form POST to /", call.method, call.path, call.contentType)
	}
	queue := srv.URL + "/123456789012/wsgate-Queue-2I9W6MT2DS3XC"
	for k, want := range map[string]string{"Action": "SendMessage", "Version": "2012-11-05", "QueueUrl": queue, "MessageBody": `{"action":"send","text":"a b & c"}`} {
		if got := call.form.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// import --aws-endpoint-url writes aws.endpoints into the config, and queue URLs point there;
// a service wsgate does not know is a usage error.
func TestImportAWSEndpointFlag(t *testing.T) {
	awsTestEnv(t)
	tmpl := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(tmpl, []byte(sqsTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "import", tmpl, "--aws-endpoint-url", "sqs=http://127.0.0.1:9324", "--aws-endpoint-url", "http://127.0.0.1:4566")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"aws:\n  endpoints:\n    default: http://127.0.0.1:4566\n    sqs: http://127.0.0.1:9324\n",
		`QueueUrl=$util.urlEncode("http://127.0.0.1:9324/123456789012/wsgate-Queue-2I9W6MT2DS3XC")`} {
		if !strings.Contains(out, want) {
			t.Errorf("config does not contain %q:\n%s", want, out)
		}
	}
	code, _, errs = run(t, "import", tmpl, "--aws-endpoint-url", "glacier=http://127.0.0.1:1")
	if code == 0 || !strings.Contains(errs, `unknown service "glacier"; use one of dynamodb,`) {
		t.Errorf("exit %d: %s", code, errs)
	}
}
