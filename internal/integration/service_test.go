package integration

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/wsgate/wsgate/internal/awsservice"
	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/sigv4"
)

const (
	testKeyID  = "AKIDWSGATETEST"
	testSecret = "wsgate-test-secret"
)

// awsClient returns a client that sends every service to endpoint, signing with static test
// credentials (no default chain look-up).
func awsClient(t *testing.T, endpoints map[string]string) *awsservice.Client {
	t.Helper()
	c, err := awsservice.New(context.Background(), awsservice.Options{
		Endpoints: endpoints, Region: "us-east-1",
		LoadOptions: []func(*awsconfig.LoadOptions) error{
			awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(testKeyID, testSecret, "")),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// verifySigned checks r with wsgate's own SigV4 verifier for service.
func verifySigned(t *testing.T, r received, service string) {
	t.Helper()
	v := sigv4.New(sigv4.Options{Credentials: map[string]string{testKeyID: testSecret}, Service: service})
	u := &url.URL{Path: r.Path, RawQuery: r.RawQuery}
	req := &http.Request{Method: r.Method, URL: u, Header: r.Header, Host: r.Host, RequestURI: r.RequestURI}
	if err := v.Verify(req, r.Body); err != nil {
		t.Errorf("signature does not verify for %s: %v\nheaders %v", service, err, r.Header)
	}
}

func TestAWSDynamoDBPutItem(t *testing.T) {
	b := startBackend(t, 200, `{}`)
	in := mustNew(t, config.Integration{
		Type: config.AWS, URI: "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem",
		RequestTemplates: map[string]string{"$default": `{"TableName":"conns","Item":{"connectionid":{"S":"$context.connectionId"},"path":{"S":"$input.params('ws-uri')"}}}`},
		Responses:        map[string]config.IntegrationResponse{"/200/": {}},
	}, Options{AWS: awsClient(t, map[string]string{"dynamodb": b.URL})})
	r := mustInvoke(t, in, connectEvent())
	if r.StatusCode != 200 {
		t.Errorf("status %d", r.StatusCode)
	}
	got := b.next(t)
	if got.Method != "POST" || got.Path != "/" {
		t.Errorf("%s %s, want POST /", got.Method, got.Path)
	}
	if h := got.Header.Get("X-Amz-Target"); h != "DynamoDB_20120810.PutItem" {
		t.Errorf("X-Amz-Target %q", h)
	}
	if h := got.Header.Get("Content-Type"); h != "application/x-amz-json-1.0" {
		t.Errorf("Content-Type %q", h)
	}
	want := `{"TableName":"conns","Item":{"connectionid":{"S":"Dwz4leekPHcCG6Q="},"path":{"S":"/rooms/42"}}}`
	if string(got.Body) != want {
		t.Errorf("body %s\nwant %s", got.Body, want)
	}
	if !strings.HasPrefix(got.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+testKeyID+"/") ||
		!strings.Contains(got.Header.Get("Authorization"), "/us-east-1/dynamodb/aws4_request") {
		t.Errorf("Authorization %q", got.Header.Get("Authorization"))
	}
	verifySigned(t, got, "dynamodb")
}

// An SQS SendMessage action integration sends a well-formed, correctly signed query-protocol
// request: form-encoded, Action and Version added to what the template rendered.
func TestAWSSQSSendMessageQueryProtocol(t *testing.T) {
	b := startBackend(t, 200, `<SendMessageResponse><SendMessageResult><MessageId>m1</MessageId></SendMessageResult></SendMessageResponse>`)
	in := mustNew(t, config.Integration{
		Type: config.AWS, URI: "arn:aws:apigateway:eu-west-1:sqs:action/SendMessage",
		RequestTemplates: map[string]string{"$default": `QueueUrl=$util.urlEncode("http://127.0.0.1/000000000000/q")&MessageBody=$util.urlEncode($input.body)`},
	}, Options{AWS: awsClient(t, map[string]string{"sqs": b.URL})})
	r := mustInvoke(t, in, messageEvent(`{"action":"send","text":"a b&c"}`))
	if r.StatusCode != 200 || !strings.Contains(string(r.Body), "<MessageId>m1</MessageId>") {
		t.Errorf("answer %d %s", r.StatusCode, r.Body)
	}
	got := b.next(t)
	if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		t.Errorf("Content-Type %q", ct)
	}
	if got.Header.Get("X-Amz-Target") != "" {
		t.Errorf("query protocol request has X-Amz-Target %q", got.Header.Get("X-Amz-Target"))
	}
	form, err := url.ParseQuery(string(got.Body))
	if err != nil {
		t.Fatalf("body %q is not form-encoded: %v", got.Body, err)
	}
	for k, want := range map[string]string{
		"Action": "SendMessage", "Version": "2012-11-05", "QueueUrl": "http://127.0.0.1/000000000000/q",
		"MessageBody": `{"action":"send","text":"a b&c"}`,
	} {
		if form.Get(k) != want {
			t.Errorf("%s = %q, want %q (body %s)", k, form.Get(k), want, got.Body)
		}
	}
	if !strings.Contains(got.Header.Get("Authorization"), "/eu-west-1/sqs/aws4_request") {
		t.Errorf("Authorization %q: want the URI's region and service", got.Header.Get("Authorization"))
	}
	verifySigned(t, got, "sqs")
}

// A JSON template for SQS uses SQS's JSON protocol, as the current SDKs do.
func TestAWSSQSJSONProtocol(t *testing.T) {
	b := startBackend(t, 200, `{"MessageId":"m1"}`)
	in := mustNew(t, config.Integration{
		Type: config.AWS, URI: "arn:aws:apigateway:us-east-1:sqs:action/SendMessage",
		RequestTemplates: map[string]string{"$default": `{"QueueUrl":"http://q/1/q","MessageBody":"hi"}`},
	}, Options{AWS: awsClient(t, map[string]string{"default": b.URL})})
	mustInvoke(t, in, messageEvent(`{}`))
	got := b.next(t)
	if got.Header.Get("X-Amz-Target") != "AmazonSQS.SendMessage" || got.Header.Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Errorf("headers %v", got.Header)
	}
	verifySigned(t, got, "sqs")
}

// Path-style URIs go to the path, with the integration's method and request parameters (the
// Content-Type override API Gateway users set for SQS).
func TestAWSPathStyle(t *testing.T) {
	b := startBackend(t, 200, ``)
	in := mustNew(t, config.Integration{
		Type: config.AWS, URI: "arn:aws:apigateway:us-east-1:sqs:path/123456789012/my-queue", Method: "POST",
		RequestParameters: map[string]string{
			"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",
			"integration.request.querystring.conn":    "context.connectionId",
		},
		RequestTemplates: map[string]string{"$default": `Action=SendMessage&MessageBody=$util.urlEncode($input.body)`},
	}, Options{AWS: awsClient(t, map[string]string{"sqs": b.URL})})
	mustInvoke(t, in, messageEvent(`hello`))
	got := b.next(t)
	if got.Path != "/123456789012/my-queue" || got.RawQuery != "conn=Dwz4leekPHcCG6Q%3D" {
		t.Errorf("path %q query %q", got.Path, got.RawQuery)
	}
	if got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || string(got.Body) != "Action=SendMessage&MessageBody=hello" {
		t.Errorf("Content-Type %q body %q", got.Header.Get("Content-Type"), got.Body)
	}
	verifySigned(t, got, "sqs")
}

// A service error is an answer: matched by its status through the integration responses.
func TestAWSServiceErrorMatchedByStatus(t *testing.T) {
	b := startBackend(t, 400, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`)
	in := mustNew(t, config.Integration{
		Type: config.AWS, URI: "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem",
		RequestTemplates: map[string]string{"$default": `{}`},
		Responses: map[string]config.IntegrationResponse{
			"/2\\d\\d/": {Templates: map[string]string{"$default": `ok`}},
			"/4\\d\\d/": {Templates: map[string]string{"$default": `{"error":"$input.path('$.__type').split('#')[1]"}`}},
		},
	}, Options{AWS: awsClient(t, map[string]string{"dynamodb": b.URL})})
	r := mustInvoke(t, in, messageEvent(`{}`))
	if r.StatusCode != 400 || string(r.Body) != `{"error":"ConditionalCheckFailedException"}` {
		t.Errorf("answer %d %s", r.StatusCode, r.Body)
	}
}

// An emulator that is down is an integration failure naming the endpoint.
func TestAWSEndpointDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	in := mustNew(t, config.Integration{
		Type: config.AWS, URI: "arn:aws:apigateway:us-east-1:dynamodb:action/DeleteItem",
		RequestTemplates: map[string]string{"$default": `{}`},
	}, Options{AWS: awsClient(t, map[string]string{"dynamodb": "http://" + addr})})
	_, err = in.Invoke(context.Background(), disconnectEvent())
	for _, want := range []string{"dynamodb:DeleteItem", "http://" + addr, "aws.endpoints.dynamodb", "is the emulator running?"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err %v, want it to contain %q", err, want)
		}
	}
}

func TestAWSUnsupportedURI(t *testing.T) {
	for uri, want := range map[string]string{
		"arn:aws:apigateway:us-east-1:glacier:action/UploadArchive": `service "glacier" is not supported: wsgate calls dynamodb, events`,
		"arn:aws:apigateway:us-east-1:dynamodb:PutItem":             "is not an AWS service integration URI",
		"arn:aws:apigateway:us-east-1:s3:action/GetObject":          "s3 is a REST service: write a path-style URI",
	} {
		_, err := New("Store", config.Integration{Type: config.AWS, URI: uri}, Options{AWS: awsClient(t, nil)})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `integration "Store"`) || !strings.Contains(err.Error(), uri) {
			t.Errorf("%s: err %v, want %q", uri, err, want)
		}
	}
}

// Each JSON-protocol service gets its own X-Amz-Target prefix, JSON version and signing name.
func TestAWSJSONServices(t *testing.T) {
	for _, tc := range []struct{ service, action, target, ctype string }{
		{"states", "StartExecution", "AWSStepFunctions.StartExecution", "application/x-amz-json-1.0"},
		{"events", "PutEvents", "AWSEvents.PutEvents", "application/x-amz-json-1.1"},
		{"kinesis", "PutRecord", "Kinesis_20131202.PutRecord", "application/x-amz-json-1.1"},
		{"logs", "PutLogEvents", "Logs_20140328.PutLogEvents", "application/x-amz-json-1.1"},
		{"firehose", "PutRecord", "Firehose_20150804.PutRecord", "application/x-amz-json-1.1"},
	} {
		b := startBackend(t, 200, `{}`)
		in := mustNew(t, config.Integration{
			Type: config.AWS, URI: "arn:aws:apigateway:us-east-1:" + tc.service + ":action/" + tc.action,
			RequestTemplates: map[string]string{"$default": `{"input": "$util.escapeJavaScript($input.body)"}`},
		}, Options{AWS: awsClient(t, map[string]string{tc.service: b.URL})})
		mustInvoke(t, in, messageEvent(`{"a":1}`))
		got := b.next(t)
		if got.Header.Get("X-Amz-Target") != tc.target || got.Header.Get("Content-Type") != tc.ctype || string(got.Body) != `{"input": "{\"a\":1}"}` {
			t.Errorf("%s: target %q type %q body %s", tc.service, got.Header.Get("X-Amz-Target"), got.Header.Get("Content-Type"), got.Body)
		}
		verifySigned(t, got, tc.service)
	}
}
