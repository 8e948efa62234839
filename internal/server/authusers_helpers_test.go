package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/coder/websocket"
	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// Helpers for the authorizer, users, groups and presence end-to-end tests.

const (
	testJWTSecret = "e2e-secret-at-least-32-bytes-long!!"
	testAKID      = "AKIDE2ETEST"
	testSecretKey = "e2e/secret/access/key"
)

// mgmtCredentials is the management block every signed test config uses.
const mgmtCredentials = `
management:
  credentials: [ { accessKeyId: ` + testAKID + `, secretAccessKey: "` + testSecretKey + `" } ]
`

// hs256 signs claims with the test secret (or another secret, for a forgery).
func hs256(t testing.TB, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// userClaims are valid claims for user uid, expiring in an hour.
func userClaims(uid string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"userId": uid, "sub": "sub-" + uid, "role": "admin",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// jwksServer serves one RSA public key as a JWKS and signs RS256 tokens with its private key.
type jwksServer struct {
	key   *rsa.PrivateKey
	kid   string
	srv   *httptest.Server
	calls atomic.Int32
}

func newJWKS(t *testing.T) *jwksServer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	j := &jwksServer{key: key, kid: "e2e-key-1"}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: j.kid, Algorithm: "RS256", Use: "sig"}}}
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(j.srv.Close)
	return j
}

func (j *jwksServer) sign(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = j.kid
	s, err := tok.SignedString(j.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newAuthLambda starts the fake Lambda (harness.Lambda) of a REQUEST authorizer: it records
// every input event; answer decides the output (a JSON document) or, with a non-empty fnErr, a
// function error with that message.
func newAuthLambda(t testing.TB, answer func(events.APIGatewayCustomAuthorizerRequestTypeRequest) (any, string)) *harness.Lambda {
	t.Helper()
	return harness.NewLambda(t, func(raw []byte) (any, string) {
		var in events.APIGatewayCustomAuthorizerRequestTypeRequest
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, "not a REQUEST authorizer event: " + err.Error()
		}
		return answer(in)
	})
}

// lastAuthorizerInput is the last event a REQUEST authorizer's fake Lambda was sent.
func lastAuthorizerInput(t *testing.T, a *harness.Lambda) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	t.Helper()
	evs := a.Events()
	if len(evs) == 0 {
		t.Fatal("the authorizer function was never called")
	}
	var in events.APIGatewayCustomAuthorizerRequestTypeRequest
	_ = json.Unmarshal(evs[len(evs)-1], &in)
	return in
}

// policy is a REQUEST authorizer's answer: effect on execute-api:Invoke for resource.
func policy(principal, effect, resource string, ctx map[string]any) map[string]any {
	return map[string]any{
		"principalId": principal,
		"policyDocument": map[string]any{
			"Version": "2012-10-17",
			"Statement": []map[string]any{{
				"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource,
			}},
		},
		"context": ctx,
	}
}

// mgmtResp is one answer of the management API.
type mgmtResp struct {
	status int
	header http.Header
	body   []byte
}

func (r mgmtResp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d %q is not JSON: %v", r.status, r.body, err)
	}
}

// mgmt sends a management request to n, signed for execute-api with the test credentials by
// the AWS SDK's own SigV4 signer. pathAndQuery starts after the stage ("/@users/1234").
func mgmt(t *testing.T, n *servertest.Node, method, pathAndQuery, body string) mgmtResp {
	t.Helper()
	return mgmtSigned(t, n, method, pathAndQuery, body, true)
}

// withWirePath sends a signed request on another path than the one signed, as the JS SDK v3
// does ("/dev//@connections/x" on the wire, "/dev/@connections/x" signed).
func withWirePath(p string) func(*http.Request) {
	return func(r *http.Request) { r.URL.Path, r.URL.RawPath = p, "" }
}

func mgmtSigned(t *testing.T, n *servertest.Node, method, pathAndQuery, body string, sign bool, after ...func(*http.Request)) mgmtResp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "http://" + n.Addr + "/" + n.Config.Stage + pathAndQuery
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if sign {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecretKey}
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range after {
		f(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, pathAndQuery, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return mgmtResp{status: resp.StatusCode, header: resp.Header, body: b}
}

// presence and usersPage decode the extension answers (docs/management-api.md).
type presence struct {
	UserID       string  `json:"userId"`
	Online       bool    `json:"online"`
	Connections  int     `json:"connections"`
	LastActiveAt *string `json:"lastActiveAt"`
}

type usersPage struct {
	Users      []presence `json:"users"`
	NextCursor string     `json:"nextCursor"`
}

// whoamiRoute answers {"action":"whoami"} with the connection's id and user id, in process.
const whoamiRoute = `
  whoami: { integration: whoami, routeResponse: true }
`

const whoamiIntegration = `
  whoami: { type: MOCK, requestTemplates: { $default: '{"statusCode": 200}' }, responses: { $default: { templates: { $default: '$context.connectionId $context.userId' } } } }
`

// whoami returns the id the gateway gave c's connection.
func whoami(t *testing.T, c *websocket.Conn) (connID, userID string) {
	t.Helper()
	send(t, c, `{"action":"whoami"}`)
	got := read(t, c)
	connID, userID, _ = strings.Cut(got, " ")
	if len(connID) != 16 {
		t.Fatalf("whoami answered %q", got)
	}
	return connID, userID
}
