package awsservice

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

func TestParseURI(t *testing.T) {
	for uri, want := range map[string]Target{
		"arn:aws:apigateway:us-east-1:dynamodb:action/PutItem":                        {Region: "us-east-1", Action: "PutItem"},
		"arn:aws-cn:apigateway:cn-north-1:states:action/StartExecution":               {Region: "cn-north-1", Action: "StartExecution"},
		"arn:aws:apigateway:eu-west-1:sqs:path/123456789012/q":                        {Region: "eu-west-1", Path: "123456789012/q"},
		"arn:aws:apigateway::sqs:path//123/q?Action=SendMessage":                      {Path: "123/q", RawQuery: "Action=SendMessage"},
		"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/f/invocations": {Region: "us-east-1", Path: "2015-03-31/functions/f/invocations"},
	} {
		got, err := ParseURI(uri)
		if err != nil {
			t.Errorf("%s: %v", uri, err)
			continue
		}
		if got.Region != want.Region || got.Action != want.Action || got.Path != want.Path || got.RawQuery != want.RawQuery {
			t.Errorf("%s: %+v, want %+v", uri, *got, want)
		}
	}
	for uri, want := range map[string]string{
		"arn:aws:apigateway:us-east-1:dynamodb:PutItem":              "is not an AWS service integration URI",
		"http://127.0.0.1/x":                                         "is not an AWS service integration URI",
		"arn:aws:apigateway:us-east-1:glacier:action/X":              `service "glacier" is not supported: wsgate calls dynamodb, events, firehose, kinesis, lambda, logs, s3, sns, sqs, states`,
		"arn:aws:apigateway:us-east-1:bucket.s3:path/k":              "subdomains",
		"arn:aws:apigateway:us-east-1:dynamodb:action/Put-Item":      "is not an action name",
		"arn:aws:apigateway:us-east-1:lambda:action/Invoke":          "lambda is a REST service",
		"arn:aws:apigateway:us-east-1:lambda:path/x?%zz":             "query string",
		"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/x:y/x ": "",
	} {
		_, err := ParseURI(uri)
		if want == "" {
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", uri, err, want)
		}
	}
}

func FuzzParseURI(f *testing.F) {
	f.Add("arn:aws:apigateway:us-east-1:dynamodb:action/PutItem")
	f.Add("arn:aws:apigateway:eu-west-1:sqs:path/123/q?Action=SendMessage&x=%20")
	f.Add("arn:aws:apigateway::s3:path/")
	f.Fuzz(func(t *testing.T, uri string) {
		tg, err := ParseURI(uri)
		if err != nil {
			return
		}
		if tg.Service == nil || (tg.Action == "") == (tg.Path == "" && !strings.Contains(uri, ":path/")) {
			t.Fatalf("%q: inconsistent target %+v", uri, tg)
		}
		_ = tg.String()
		ep := Endpoint{URL: &url.URL{Scheme: "http", Host: "127.0.0.1:1"}, Local: true}
		if req, body, err := NewRequest(context.Background(), tg, ep, "POST", []byte(uri)); err == nil {
			if b, _ := io.ReadAll(req.Body); string(b) != string(body) {
				t.Fatalf("request body %q, returned body %q", b, body)
			}
		}
	})
}

func newTestClient(t *testing.T, endpoints map[string]string) *Client {
	t.Helper()
	c, err := New(context.Background(), Options{Endpoints: endpoints, Region: "eu-west-1",
		LoadOptions: []func(*awsconfig.LoadOptions) error{
			awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")),
		}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func resolve(t *testing.T, c *Client, svc, region string) Endpoint {
	t.Helper()
	s, ok := Lookup(svc)
	if !ok {
		t.Fatalf("no service %s", svc)
	}
	ep, err := c.Resolve(context.Background(), s, region)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// Endpoints follow the SDKs' order: code (aws.endpoints) over AWS_ENDPOINT_URL_<SERVICE> over
// AWS_ENDPOINT_URL, real AWS otherwise.
func TestResolveEndpoints(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	t.Setenv("AWS_ENDPOINT_URL_SFN", "")
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")
	c := newTestClient(t, nil)
	for svc, want := range map[string]string{
		"dynamodb": "https://dynamodb.eu-west-1.amazonaws.com",
		"sqs":      "https://sqs.eu-west-1.amazonaws.com",
		"states":   "https://states.eu-west-1.amazonaws.com",
		"logs":     "https://logs.eu-west-1.amazonaws.com",
	} {
		if ep := resolve(t, c, svc, ""); ep.URL.String() != want || ep.Source != "AWS" || ep.Local {
			t.Errorf("%s: %+v, want %s on AWS", svc, ep, want)
		}
	}
	if ep := resolve(t, c, "events", "cn-north-1"); ep.URL.String() != "https://events.cn-north-1.amazonaws.com.cn" {
		t.Errorf("events in China: %s", ep.URL)
	}

	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4567")
	t.Setenv("AWS_ENDPOINT_URL_SFN", "http://localhost:8083")
	t.Setenv("AWS_ENDPOINT_URL", "http://localstack:4566")
	c = newTestClient(t, map[string]string{"sqs": "http://127.0.0.1:9324"})
	for svc, want := range map[string][2]string{
		"dynamodb": {"http://127.0.0.1:4567", "AWS_ENDPOINT_URL_DYNAMODB"},
		"states":   {"http://localhost:8083", "AWS_ENDPOINT_URL_SFN"},
		"sqs":      {"http://127.0.0.1:9324", "aws.endpoints.sqs"},
		"sns":      {"http://localstack:4566", "AWS_ENDPOINT_URL"},
	} {
		ep := resolve(t, c, svc, "")
		if ep.URL.String() != want[0] || ep.Source != want[1] || !ep.Local {
			t.Errorf("%s: %s from %s (local %v), want %s from %s", svc, ep.URL, ep.Source, ep.Local, want[0], want[1])
		}
	}
	c = newTestClient(t, map[string]string{"default": "https://proxy.example.com", "dynamodb": "http://127.0.0.1:1"})
	if ep := resolve(t, c, "dynamodb", ""); ep.Source != "aws.endpoints.dynamodb" {
		t.Errorf("aws.endpoints.dynamodb does not win over the variable: %+v", ep)
	}
	if ep := resolve(t, c, "sns", ""); ep.Source != "aws.endpoints.default" || !ep.Local {
		t.Errorf("aws.endpoints.default does not win over AWS_ENDPOINT_URL: %+v", ep)
	}
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	c = newTestClient(t, nil)
	if ep := resolve(t, c, "dynamodb", "us-west-2"); ep.Source != "AWS" {
		t.Errorf("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true: %+v", ep)
	}
	if ep := resolve(t, newTestClient(t, map[string]string{"dynamodb": "https://dynamodb.us-west-2.amazonaws.com"}), "dynamodb", ""); ep.Local {
		t.Errorf("an AWS host is not an emulator: %+v", ep)
	}
}

func TestNewRejectsBadEndpoints(t *testing.T) {
	for k, v := range map[string]string{"glacier": "http://x", "dynamodb": "localhost:4567"} {
		_, err := New(context.Background(), Options{Endpoints: map[string]string{k: v}})
		if err == nil || !strings.Contains(err.Error(), "aws.endpoints."+k) {
			t.Errorf("%s=%s: err %v", k, v, err)
		}
	}
}

func TestEndpointEnv(t *testing.T) {
	got := EndpointEnv(map[string]string{"dynamodb": "http://127.0.0.1:4567", "states": "http://127.0.0.1:8083",
		"logs": "http://l", "default": "http://ls:4566", "bogus": "http://x"})
	want := []string{"AWS_ENDPOINT_URL=http://ls:4566", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://l",
		"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:4567", "AWS_ENDPOINT_URL_SFN=http://127.0.0.1:8083"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("EndpointEnv = %v, want %v", got, want)
	}
}

// StartSyncExecution has its own host on AWS (the SDK's "sync-" host prefix), not on an
// emulator.
func TestSyncExecutionHost(t *testing.T) {
	tg, _ := ParseURI("arn:aws:apigateway:us-east-1:states:action/StartSyncExecution")
	aws := Endpoint{URL: &url.URL{Scheme: "https", Host: "states.us-east-1.amazonaws.com"}, Source: "AWS"}
	req, _, err := NewRequest(context.Background(), tg, aws, "", nil)
	if err != nil || req.URL.Host != "sync-states.us-east-1.amazonaws.com" || req.Header.Get("X-Amz-Target") != "AWSStepFunctions.StartSyncExecution" {
		t.Errorf("AWS: %v %v %v", req.URL, req.Header, err)
	}
	local := Endpoint{URL: &url.URL{Scheme: "http", Host: "127.0.0.1:8083"}, Source: "aws.endpoints.states", Local: true}
	req, body, _ := NewRequest(context.Background(), tg, local, "", nil)
	if req.URL.Host != "127.0.0.1:8083" || string(body) != "{}" {
		t.Errorf("local: %v body %q", req.URL, body)
	}
}

// Without credentials, calls to an emulator are signed with placeholders; calls to AWS fail
// with ErrNoCredentials.
func TestNoCredentials(t *testing.T) {
	c, err := New(context.Background(), Options{LoadOptions: []func(*awsconfig.LoadOptions) error{
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("", "", "")),
	}})
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := ParseURI("arn:aws:apigateway:us-east-1:dynamodb:action/GetItem")
	local := Endpoint{URL: &url.URL{Scheme: "http", Host: "127.0.0.1:4567"}, Local: true}
	req, body, _ := NewRequest(context.Background(), tg, local, "", nil)
	if err := c.Sign(context.Background(), req, body, tg.Service, "", local, "arn:aws:iam::1:role/r"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(req.Header.Get("Authorization"), "Credential="+PlaceholderAccessKeyID+"/") {
		t.Errorf("Authorization %q", req.Header.Get("Authorization"))
	}
	remote := Endpoint{URL: &url.URL{Scheme: "https", Host: "dynamodb.us-east-1.amazonaws.com"}, Source: "AWS"}
	req, body, _ = NewRequest(context.Background(), tg, remote, "", nil)
	if err := c.Sign(context.Background(), req, body, tg.Service, "", remote, ""); err == nil || !strings.Contains(err.Error(), "no AWS credentials") {
		t.Errorf("err %v", err)
	}
}

// stsStandIn answers AssumeRole as STS does (query protocol, XML), or with AccessDenied. STS
// cannot run here: this is the one fake of the package, and it only answers AssumeRole.
func stsStandIn(t *testing.T, deny bool) (string, *atomic.Int32, chan url.Values) {
	t.Helper()
	var n atomic.Int32
	got := make(chan url.Values, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		got <- form
		w.Header().Set("Content-Type", "text/xml")
		if deny {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
			return
		}
		io.WriteString(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>`+
			`<AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>rolesecret</SecretAccessKey><SessionToken>roletoken</SessionToken>`+
			`<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/r/wsgate</Arn>`+
			`<AssumedRoleId>AROA:wsgate</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n, got
}

// credentialsArn: calls to AWS are signed with the role's credentials, assumed through STS with
// wsgate's own; when STS refuses, one log line and wsgate's own credentials from then on.
func TestCredentialsArnAssumed(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/r"
	tg, _ := ParseURI("arn:aws:apigateway:us-east-1:dynamodb:action/PutItem")
	remote := Endpoint{URL: &url.URL{Scheme: "https", Host: "dynamodb.us-east-1.amazonaws.com"}, Source: "AWS"}
	for _, deny := range []bool{false, true} {
		stsURL, calls, forms := stsStandIn(t, deny)
		t.Setenv("AWS_ENDPOINT_URL_STS", stsURL)
		var logs strings.Builder
		c, err := New(context.Background(), Options{Region: "us-east-1", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			LoadOptions: []func(*awsconfig.LoadOptions) error{
				awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")),
			}})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			req, body, _ := NewRequest(context.Background(), tg, remote, "", []byte(`{}`))
			if err := c.Sign(context.Background(), req, body, tg.Service, "us-east-1", remote, role); err != nil {
				t.Fatal(err)
			}
			auth := req.Header.Get("Authorization")
			if deny {
				if !strings.Contains(auth, "Credential=AKID/") || req.Header.Get("X-Amz-Security-Token") != "" {
					t.Errorf("denied role: Authorization %q token %q, want wsgate's own credentials", auth, req.Header.Get("X-Amz-Security-Token"))
				}
			} else if !strings.Contains(auth, "Credential=ASIAROLE/") || req.Header.Get("X-Amz-Security-Token") != "roletoken" {
				t.Errorf("Authorization %q token %q, want the role's credentials", auth, req.Header.Get("X-Amz-Security-Token"))
			}
		}
		form := <-forms
		if form.Get("Action") != "AssumeRole" || form.Get("RoleArn") != role || form.Get("RoleSessionName") != "wsgate" {
			t.Errorf("AssumeRole request %v", form)
		}
		if calls.Load() != 1 {
			t.Errorf("deny=%v: %d AssumeRole calls for two requests, want 1 (cached, or given up once)", deny, calls.Load())
		}
		if n := strings.Count(logs.String(), "cannot assume credentialsArn"); (deny && n != 1) || (!deny && n != 0) {
			t.Errorf("deny=%v: %d log lines about the role:\n%s", deny, n, logs.String())
		}
	}
}
