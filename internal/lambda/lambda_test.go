package lambda

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// invokeAPI is a minimal Lambda Invoke API: it records what it received and answers with the
// handler's result.
type invokeAPI struct {
	gotPath, gotRawPath string
	gotHeader           http.Header
	gotBody             []byte
	status              int
	funcErr             string
	result              string
}

func (a *invokeAPI) start(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.gotPath, a.gotRawPath, a.gotHeader = r.URL.Path, r.URL.EscapedPath(), r.Header.Clone()
		a.gotBody, _ = io.ReadAll(r.Body)
		if a.funcErr != "" {
			w.Header().Set("X-Amz-Function-Error", a.funcErr)
		}
		if a.status != 0 {
			w.WriteHeader(a.status)
		}
		io.WriteString(w, a.result)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestInvokeEndpoint(t *testing.T) {
	api := &invokeAPI{result: `{"statusCode":200,"body":"hi"}`}
	srv := api.start(t)
	inv := New("my-func", srv.URL+"/", "", srv.Client())
	out, err := inv.Invoke(context.Background(), []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != api.result {
		t.Fatalf("result %q, want %q", out, api.result)
	}
	if api.gotPath != "/2015-03-31/functions/my-func/invocations" {
		t.Fatalf("path %q", api.gotPath)
	}
	if string(api.gotBody) != `{"a":1}` {
		t.Fatalf("body %q", api.gotBody)
	}
	if got := api.gotHeader.Get("X-Amz-Invocation-Type"); got != "RequestResponse" {
		t.Fatalf("invocation type %q", got)
	}
}

func TestInvokeEndpointARNIsEscaped(t *testing.T) {
	api := &invokeAPI{result: `null`}
	srv := api.start(t)
	arn := "arn:aws:lambda:us-west-2:123456789012:function:my fn/x"
	if _, err := New(arn, srv.URL, "", nil).Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if api.gotPath != "/2015-03-31/functions/"+arn+"/invocations" {
		t.Fatalf("decoded path %q", api.gotPath)
	}
	if !strings.Contains(api.gotRawPath, "my%20fn%2Fx") {
		t.Fatalf("raw path %q: name not escaped", api.gotRawPath)
	}
}

func TestInvokeEndpointFunctionError(t *testing.T) {
	for _, tc := range []struct {
		name, header, payload, wantType, wantMsg string
	}{
		{"typed", "Unhandled", `{"errorMessage":"boom","errorType":"Exception"}`, "Exception", "boom"},
		{"untyped", "Handled", `{"errorMessage":"bad"}`, "Handled", "bad"},
		{"not json", "Unhandled", `RequestId: x Error: Runtime exited`, "Unhandled", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &invokeAPI{funcErr: tc.header, result: tc.payload}
			srv := api.start(t)
			_, err := New("f", srv.URL, "", nil).Invoke(context.Background(), []byte(`{}`))
			var fe *FunctionError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *FunctionError", err)
			}
			if fe.Type != tc.wantType || fe.Message != tc.wantMsg || string(fe.Payload) != tc.payload {
				t.Fatalf("got %+v", fe)
			}
			if !IsFunctionError(err) {
				t.Fatal("IsFunctionError false")
			}
		})
	}
}

func TestInvokeEndpointAPIError(t *testing.T) {
	api := &invokeAPI{status: 429, result: `{"Type":"User","message":"Rate Exceeded."}`}
	srv := api.start(t)
	_, err := New("f", srv.URL, "", nil).Invoke(context.Background(), []byte(`{}`))
	if err == nil || IsFunctionError(err) || !strings.Contains(err.Error(), "429") {
		t.Fatalf("err = %v, want a non-function error naming 429", err)
	}
}

func TestInvokeEndpointUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := New("f", url, "", nil).Invoke(context.Background(), []byte(`{}`))
	if err == nil || IsFunctionError(err) {
		t.Fatalf("err = %v, want transport error", err)
	}
}

func TestInvokeEndpointContextDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New("f", srv.URL, "", nil).Invoke(ctx, []byte(`{}`))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestInvokeSDK drives the real aws-sdk-go-v2 Lambda client (Endpoint empty) against a local
// server through AWS_ENDPOINT_URL_LAMBDA, with static credentials from the environment.
func TestInvokeSDK(t *testing.T) {
	api := &invokeAPI{result: `{"statusCode":"200"}`}
	srv := api.start(t)
	sdkEnv(t, srv.URL)

	inv := New("arn:aws:lambda:eu-west-1:123456789012:function:fn", "", "", nil)
	out, err := inv.Invoke(context.Background(), []byte(`{"x":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != api.result {
		t.Fatalf("result %q", out)
	}
	if api.gotPath != "/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:fn/invocations" {
		t.Fatalf("path %q", api.gotPath)
	}
	auth := api.gotHeader.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/eu-west-1/lambda/aws4_request") {
		t.Fatalf("Authorization %q: want SigV4 for eu-west-1/lambda (region from the ARN)", auth)
	}
	if string(api.gotBody) != `{"x":true}` {
		t.Fatalf("body %q", api.gotBody)
	}

	// The client is built once and reused.
	first := inv.sdk
	if _, err := inv.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if inv.sdk != first {
		t.Fatal("SDK client rebuilt on second call")
	}
}

func TestInvokeSDKFunctionError(t *testing.T) {
	api := &invokeAPI{funcErr: "Unhandled", result: `{"errorMessage":"kaput","errorType":"ValueError"}`}
	srv := api.start(t)
	sdkEnv(t, srv.URL)
	_, err := New("fn", "", "us-east-1", nil).Invoke(context.Background(), []byte(`{}`))
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Type != "ValueError" || fe.Message != "kaput" {
		t.Fatalf("err = %v, want FunctionError ValueError: kaput", err)
	}
}

func TestInvokeSDKServiceError(t *testing.T) {
	api := &invokeAPI{status: 404, result: `{"Type":"User","Message":"Function not found: fn"}`}
	srv := api.start(t)
	sdkEnv(t, srv.URL)
	_, err := New("fn", "", "us-east-1", nil).Invoke(context.Background(), []byte(`{}`))
	if err == nil || IsFunctionError(err) || !strings.Contains(err.Error(), "fn") {
		t.Fatalf("err = %v, want a wrapped service error", err)
	}
}

func TestRegionFor(t *testing.T) {
	for fn, want := range map[string]string{
		"arn:aws:lambda:ap-south-1:1:function:x":       "ap-south-1",
		"arn:aws:lambda:ap-south-1:1:function:x:alias": "ap-south-1",
		"plain":                  "",
		"arn:aws:s3:::bucket":    "",
		"arn:aws:lambda:us-east": "",
	} {
		if got := New(fn, "", "", nil).regionFor(); got != want {
			t.Errorf("regionFor(%q) = %q, want %q", fn, got, want)
		}
	}
	if got := New("arn:aws:lambda:ap-south-1:1:function:x", "", "eu-central-1", nil).regionFor(); got != "eu-central-1" {
		t.Errorf("configured region not preferred: %q", got)
	}
}

// sdkEnv isolates the SDK's default chain: static keys, no shared files, our endpoint.
func sdkEnv(t *testing.T, endpoint string) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint)
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
}
