package sigv4

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// mgmtClient is the unmodified SDK client pointed at srv, as users configure it.
func mgmtClient(srv *verifyServer, key, secret, token string, optFns ...func(*apigatewaymanagementapi.Options)) *apigatewaymanagementapi.Client {
	o := apigatewaymanagementapi.Options{
		Region:           testRegion,
		BaseEndpoint:     aws.String(srv.URL + "/dev"),
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, token),
		RetryMaxAttempts: 1,
		HTTPClient:       srv.Client(),
	}
	return apigatewaymanagementapi.New(o, optFns...)
}

func TestManagementClientAccepted(t *testing.T) {
	srv := startVerifyServer(t, Options{Credentials: map[string]string{testKey: testSecret}})
	ctx := context.Background()
	for _, token := range []string{"", "session/token+=="} {
		c := mgmtClient(srv, testKey, testSecret, token)
		_, err := c.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String("Dwz4leekPHcCG6Q="),
			Data:         []byte(`{"message":"hello  world"}`),
		})
		if err != nil {
			t.Fatalf("PostToConnection (token %q): %v", token, err)
		}
		if _, err := c.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{
			ConnectionId: aws.String("a/b c="),
		}); err != nil {
			t.Fatalf("DeleteConnection (token %q): %v", token, err)
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	// The wire paths the SDK produced, which the verifier escaped again.
	if got, want := srv.uris[0], "POST /dev/@connections/Dwz4leekPHcCG6Q%3D"; got != want {
		t.Errorf("first request %q, want %q", got, want)
	}
	if got, want := srv.uris[1], "DELETE /dev/@connections/a%2Fb%20c%3D"; got != want {
		t.Errorf("second request %q, want %q", got, want)
	}
}

// Each refusal reaches the unmodified SDK as AWS's error code (smithy.APIError), and an
// InvalidSignatureException with the clocks in step is not retried.
func TestManagementClientErrorCodes(t *testing.T) {
	srv := startVerifyServer(t, Options{Credentials: map[string]string{testKey: testSecret}})
	garble := func(o *apigatewaymanagementapi.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("garbleAuthorization",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					if req, ok := in.Request.(*smithyhttp.Request); ok {
						req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential "+testKey)
					}
					return next.HandleFinalize(ctx, in)
				}), middleware.After)
		})
	}
	retries := func(o *apigatewaymanagementapi.Options) { o.RetryMaxAttempts = 3 }
	for _, c := range []struct {
		name, key, secret, code, msg string
		opts                         []func(*apigatewaymanagementapi.Options)
	}{
		{"wrong secret", testKey, "wrong-secret", TypeInvalidSignature, msgMismatch, []func(*apigatewaymanagementapi.Options){retries}},
		{"wrong service", testKey, testSecret, TypeInvalidSignature, "Credential should be scoped to correct service: 'execute-api'. ",
			[]func(*apigatewaymanagementapi.Options){apigatewaymanagementapi.WithSigV4SigningName("apigateway")}},
		{"unknown key", "AKIDUNKNOWN", testSecret, TypeUnrecognizedClient, msgUnknownKey, nil},
		{"no signature", "", "", TypeMissingToken, msgMissing, []func(*apigatewaymanagementapi.Options){
			func(o *apigatewaymanagementapi.Options) { o.Credentials = aws.AnonymousCredentials{} }}},
		{"malformed", testKey, testSecret, TypeIncompleteSignature, "'Credential " + testKey + "' not a valid key=value pair (missing equal-sign) in Authorization header",
			[]func(*apigatewaymanagementapi.Options){garble}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := srv.requests()
			_, err := mgmtClient(srv, c.key, c.secret, "", c.opts...).PostToConnection(context.Background(),
				&apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("abc="), Data: []byte("x")})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != c.code || !strings.HasPrefix(ae.ErrorMessage(), c.msg) {
				t.Fatalf("PostToConnection error %T %v, want smithy.APIError %s with message %q", err, err, c.code, c.msg)
			}
			if n := srv.requests() - before; n != 1 {
				t.Fatalf("the SDK sent %d requests, want 1 (a refusal with clocks in step is not retried)", n)
			}
		})
	}
}

// A server clock 10 minutes ahead answers InvalidSignatureException; the SDK's retryer reads
// the response Date, corrects its offset and the retry is accepted.
func TestManagementClientClockSkewCorrection(t *testing.T) {
	srv := startVerifyServer(t, Options{
		Credentials: map[string]string{testKey: testSecret},
		Now:         func() time.Time { return time.Now().Add(10 * time.Minute) },
	})
	ctx := context.Background()
	in := &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("abc="), Data: []byte("x")}

	_, err := mgmtClient(srv, testKey, testSecret, "").PostToConnection(ctx, in)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != TypeInvalidSignature || !strings.HasPrefix(ae.ErrorMessage(), "Signature expired: ") {
		t.Fatalf("without retries: %v, want %s Signature expired", err, TypeInvalidSignature)
	}

	before := srv.requests()
	c := mgmtClient(srv, testKey, testSecret, "", func(o *apigatewaymanagementapi.Options) {
		o.RetryMaxAttempts = 3
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 3
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	})
	if _, err := c.PostToConnection(ctx, in); err != nil {
		t.Fatalf("with clock-skew correction: %v", err)
	}
	if n := srv.requests() - before; n != 2 {
		t.Fatalf("server saw %d requests, want 2 (one skewed, one corrected)", n)
	}
}
