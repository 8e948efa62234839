package management

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"

	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/sigv4"
)

const (
	testStage  = "dev"
	testRegion = "us-east-1"
	testKeyID  = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testConnID = "Dwz4leekPHcCG6Q=" // AWS's id format: the "=" exercises path escaping
)

var (
	connectedAt  = time.Date(2024, 1, 20, 11, 55, 0, 123_000_000, time.UTC)
	lastActiveAt = time.Date(2024, 1, 20, 12, 5, 30, 0, time.UTC)
)

func testConn() registry.Conn {
	return registry.Conn{
		ID: testConnID, Node: "n1", ConnectedAt: connectedAt, LastActiveAt: lastActiveAt,
		SourceIP: "203.0.113.7", UserAgent: "Mozilla/5.0 test",
	}
}

// startServer serves New(o) on a real loopback listener. With signed set, requests must carry a
// SigV4 signature by testKeyID/testSecret.
func startServer(t testing.TB, b Backend, signed bool) *httptest.Server {
	t.Helper()
	o := Options{Stage: testStage, Backend: b}
	if signed {
		o.Verifier = sigv4.New(sigv4.Options{
			Credentials: map[string]string{testKeyID: testSecret},
			Regions:     []string{testRegion},
		})
	}
	srv := httptest.NewServer(New(o))
	t.Cleanup(srv.Close)
	return srv
}

// sdkClient is the real, unmodified AWS SDK client pointed at srv, as a user's backend would
// configure it.
func sdkClient(srv *httptest.Server, secret string) *apigatewaymanagementapi.Client {
	cfg := aws.Config{
		Region:           testRegion,
		Credentials:      credentials.NewStaticCredentialsProvider(testKeyID, secret, ""),
		RetryMaxAttempts: 1,
		HTTPClient:       srv.Client(),
	}
	return apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(srv.URL + "/" + testStage)
	})
}

// Both modes must behave the same for an authorised caller.
var modes = []struct {
	name   string
	signed bool
}{{"loopback", false}, {"sigv4", true}}

func TestSDKPostToConnection(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			b := newMemBackend(testConn())
			c := sdkClient(startServer(t, b, m.signed), testSecret)
			// Not valid UTF-8 and holding every byte value: delivered as is.
			data := []byte("héllo \x00\xff{\"a\":1}")
			_, err := c.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{
				ConnectionId: aws.String(testConnID), Data: data,
			})
			if err != nil {
				t.Fatalf("PostToConnection: %v", err)
			}
			got := b.messages(testConnID)
			if len(got) != 1 || !bytes.Equal(got[0], data) {
				t.Fatalf("backend got %q, want one message %q", got, data)
			}
		})
	}
}

func TestSDKGetConnection(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			c := sdkClient(startServer(t, newMemBackend(testConn()), m.signed), testSecret)
			out, err := c.GetConnection(context.Background(), &apigatewaymanagementapi.GetConnectionInput{
				ConnectionId: aws.String(testConnID),
			})
			if err != nil {
				t.Fatalf("GetConnection: %v", err)
			}
			if out.ConnectedAt == nil || !out.ConnectedAt.Equal(connectedAt) {
				t.Errorf("ConnectedAt = %v, want %v", out.ConnectedAt, connectedAt)
			}
			if out.LastActiveAt == nil || !out.LastActiveAt.Equal(lastActiveAt) {
				t.Errorf("LastActiveAt = %v, want %v", out.LastActiveAt, lastActiveAt)
			}
			if out.Identity == nil || aws.ToString(out.Identity.SourceIp) != "203.0.113.7" ||
				aws.ToString(out.Identity.UserAgent) != "Mozilla/5.0 test" {
				t.Errorf("Identity = %+v", out.Identity)
			}
		})
	}
}

func TestSDKDeleteConnection(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			b := newMemBackend(testConn())
			c := sdkClient(startServer(t, b, m.signed), testSecret)
			_, err := c.DeleteConnection(context.Background(), &apigatewaymanagementapi.DeleteConnectionInput{
				ConnectionId: aws.String(testConnID),
			})
			if err != nil {
				t.Fatalf("DeleteConnection: %v", err)
			}
			if len(b.deleted) != 1 || b.deleted[0] != testConnID {
				t.Fatalf("backend deleted %q, want [%q]", b.deleted, testConnID)
			}
			// The second delete finds nothing.
			_, err = c.DeleteConnection(context.Background(), &apigatewaymanagementapi.DeleteConnectionInput{
				ConnectionId: aws.String(testConnID),
			})
			var gone *types.GoneException
			if !errors.As(err, &gone) {
				t.Fatalf("second DeleteConnection: %v, want *types.GoneException", err)
			}
		})
	}
}

// TestSDKTypedErrors checks that the SDK decodes every error the handler sends into its
// modelled exception type, which is what user code switches on.
func TestSDKTypedErrors(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			b := newMemBackend(testConn(), registry.Conn{ID: "slow="})
			b.fail["slow="] = hub.ErrSlowConsumer
			b.fail["huge="] = hub.ErrPayloadTooLarge
			b.conns["huge="] = registry.Conn{ID: "huge="}
			c := sdkClient(startServer(t, b, m.signed), testSecret)
			ctx := context.Background()
			post := func(id string, data []byte) error {
				_, err := c.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
					ConnectionId: aws.String(id), Data: data,
				})
				return err
			}

			var gone *types.GoneException
			if err := post("nope=", []byte("x")); !errors.As(err, &gone) {
				t.Errorf("unknown id: %v, want *types.GoneException", err)
			}
			_, err := c.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String("nope=")})
			if !errors.As(err, &gone) {
				t.Errorf("GetConnection unknown id: %v, want *types.GoneException", err)
			}

			var tooBig *types.PayloadTooLargeException
			if err := post(testConnID, make([]byte, 129<<10)); !errors.As(err, &tooBig) {
				t.Errorf("129 KB: %v, want *types.PayloadTooLargeException", err)
			} else if aws.ToString(tooBig.Message) == "" {
				t.Errorf("PayloadTooLargeException has no message")
			}
			if got := b.messages(testConnID); len(got) != 0 {
				t.Errorf("an oversized message reached the backend")
			}
			// Exactly at the limit is fine.
			if err := post(testConnID, make([]byte, DefaultMaxBody)); err != nil {
				t.Errorf("128 KB: %v, want success", err)
			}
			if err := post("huge=", []byte("x")); !errors.As(err, &tooBig) {
				t.Errorf("backend hub.ErrPayloadTooLarge: %v, want *types.PayloadTooLargeException", err)
			}

			var limit *types.LimitExceededException
			if err := post("slow=", []byte("x")); !errors.As(err, &limit) {
				t.Errorf("slow consumer: %v, want *types.LimitExceededException", err)
			}

			var re interface{ ServiceRequestID() string }
			if err := post("nope=", []byte("x")); !errors.As(err, &re) || re.ServiceRequestID() == "" {
				t.Errorf("error %v carries no request id", err)
			}
		})
	}
}

func TestSDKWrongSecretIsInvalidSignature(t *testing.T) {
	b := newMemBackend(testConn())
	c := sdkClient(startServer(t, b, true), "not-the-secret")
	_, err := c.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(testConnID), Data: []byte("x"),
	})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("wrong secret: %v, want APIError InvalidSignatureException", err)
	}
	if len(b.messages(testConnID)) != 0 {
		t.Fatalf("an unauthenticated message reached the backend")
	}
}

// TestSDKWrongStageIsForbidden: AWS answers a path it does not serve with 403 Forbidden.
func TestSDKWrongStageIsForbidden(t *testing.T) {
	srv := startServer(t, newMemBackend(testConn()), true)
	cfg := aws.Config{
		Region: testRegion, RetryMaxAttempts: 1, HTTPClient: srv.Client(),
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
	}
	c := apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(srv.URL + "/prod")
	})
	_, err := c.GetConnection(context.Background(), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(testConnID)})
	var forbidden *types.ForbiddenException
	if !errors.As(err, &forbidden) { // the model has no message member for it; TestForbiddenPaths checks the body
		t.Fatalf("wrong stage: %v, want *types.ForbiddenException", err)
	}
}

// TestSDKUnknownBackendError: an error the handler does not know is a 500 with a JSON body, which
// the SDK reports as an API error (not a deserialization failure).
func TestSDKUnknownBackendError(t *testing.T) {
	b := newMemBackend(testConn())
	b.fail[testConnID] = fmt.Errorf("redis: %w", errBoom)
	c := sdkClient(startServer(t, b, false), testSecret)
	_, err := c.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(testConnID), Data: []byte("x"),
	})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InternalServerErrorException" {
		t.Fatalf("backend failure: %v, want APIError InternalServerErrorException", err)
	}
}

// TestLoopbackOnly: with no Verifier, a caller that is not on loopback is refused before the
// backend is reached, however well it signs.
func TestLoopbackOnly(t *testing.T) {
	b := newMemBackend(testConn())
	h := New(Options{Stage: testStage, Backend: b})
	for _, remote := range []string{"192.0.2.1:1234", "[2001:db8::1]:443", "10.0.0.1:80", "garbage"} {
		req := httptest.NewRequest(http.MethodPost, "/dev/@connections/"+testConnID, bytes.NewReader([]byte("x")))
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkError(t, rec.Result(), http.StatusForbidden, "ForbiddenException", "Forbidden")
	}
	for _, remote := range []string{"127.0.0.1:1", "127.9.9.9:1", "[::1]:1", "[::ffff:127.0.0.1]:1"} {
		req := httptest.NewRequest(http.MethodPost, "/dev/@connections/"+testConnID, bytes.NewReader([]byte("x")))
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("loopback %s: status %d, want 200", remote, rec.Code)
		}
	}
	if n := len(b.messages(testConnID)); n != 4 {
		t.Fatalf("backend got %d messages, want 4 (loopback callers only)", n)
	}
}

// TestSignedModeRefusesUnsignedLoopback: once credentials exist, loopback is no excuse.
func TestSignedModeRefusesUnsignedLoopback(t *testing.T) {
	srv := startServer(t, newMemBackend(testConn()), true)
	resp, err := http.Post(srv.URL+"/dev/@connections/"+testConnID, "application/octet-stream", bytes.NewReader([]byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	checkError(t, resp, http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
}

// TestTrustLoopbackWithGeneratedKey: with TrustLoopback (no configured credentials, only the key
// wsgate generated for its functions), loopback callers are served as when no credentials exist
// (signed with any secret, or not signed), while a caller from another address must sign with
// the generated key. SetTrustLoopback(false) (a reload that configures credentials) makes
// loopback callers sign too.
func TestTrustLoopbackWithGeneratedKey(t *testing.T) {
	b := newMemBackend(testConn())
	h := New(Options{Stage: testStage, Backend: b, TrustLoopback: true,
		Verifier: sigv4.New(sigv4.Options{Credentials: map[string]string{testKeyID: testSecret}})})
	post := func(remote, secret string) *http.Response {
		t.Helper()
		body := []byte("x")
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/dev/@connections/"+testConnID, bytes.NewReader(body))
		req.RemoteAddr = remote
		if secret != "" {
			sum := sha256.Sum256(body)
			creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: secret}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]),
				"execute-api", testRegion, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	for _, secret := range []string{testSecret, "wrong", ""} {
		if resp := post("127.0.0.1:5000", secret); resp.StatusCode != http.StatusOK {
			t.Errorf("loopback caller, secret %q: status %d, want 200", secret, resp.StatusCode)
		}
	}
	if resp := post("192.0.2.1:5000", testSecret); resp.StatusCode != http.StatusOK {
		t.Errorf("remote caller with the generated key: status %d, want 200", resp.StatusCode)
	}
	checkError(t, post("192.0.2.1:5000", "wrong"), http.StatusForbidden, "InvalidSignatureException", "")
	checkError(t, post("192.0.2.1:5000", ""), http.StatusForbidden, "MissingAuthenticationTokenException", "")
	if n := len(b.messages(testConnID)); n != 4 {
		t.Fatalf("backend got %d messages, want 4 (3 loopback, 1 signed remote)", n)
	}
	h.SetTrustLoopback(false)
	checkError(t, post("127.0.0.1:5000", "wrong"), http.StatusForbidden, "InvalidSignatureException", "")
	checkError(t, post("127.0.0.1:5000", ""), http.StatusForbidden, "MissingAuthenticationTokenException", "")
}
