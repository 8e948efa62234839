package authorizer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/config"
)

const testSecret = "s3cr3t-for-tests-only-32-bytes!!"

func hsConfig() config.Authorizer {
	return config.Authorizer{
		Type:           config.JWT,
		IdentitySource: config.StringList{"route.request.querystring.Authorization"},
		Secret:         testSecret,
		UserIDClaim:    "userId",
	}
}

func validClaims(clk *testClock) jwt.MapClaims {
	now := clk.Now()
	return jwt.MapClaims{
		"sub":    "auth0|abc",
		"userId": "1234",
		"iss":    "https://issuer.example",
		"aud":    "wsgate",
		"iat":    now.Unix(),
		"nbf":    now.Unix(),
		"exp":    now.Add(time.Hour).Unix(),
		"roles":  []string{"admin", "dev"},
		"org":    map[string]any{"id": 7},
		"tier":   3,
		"beta":   true,
	}
}

func TestJWTHS256QueryAdmitsUser(t *testing.T) {
	clk := newClock()
	a := mustNew(t, hsConfig(), Options{Now: clk.Now})
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", validClaims(clk))
	res, err := a.Authorize(bg, connectEvent(map[string]string{"Authorization": tok}, nil))
	wantStatus(t, res, err, 0)
	if res.UserID != "1234" || res.PrincipalID != "1234" {
		t.Fatalf("UserID %q PrincipalID %q, want 1234", res.UserID, res.PrincipalID)
	}
	want := map[string]any{
		"sub": "auth0|abc", "userId": "1234", "iss": "https://issuer.example", "aud": "wsgate",
		"roles": `["admin","dev"]`, "org": `{"id":7}`, "tier": int64(3), "beta": true,
		"principalId": "1234",
	}
	for k, v := range want {
		if res.Context[k] != v {
			t.Errorf("Context[%q] = %#v, want %#v", k, res.Context[k], v)
		}
	}
	// Every context value is a scalar AWS allows.
	for k, v := range res.Context {
		switch v.(type) {
		case string, bool, int64, float64:
		default:
			t.Errorf("Context[%q] is %T", k, v)
		}
	}
}

func TestJWTNumericUserIDAndBearerHeader(t *testing.T) {
	clk := newClock()
	cfg := hsConfig()
	cfg.IdentitySource = config.StringList{"route.request.header.Authorization"}
	a := mustNew(t, cfg, Options{Now: clk.Now})
	c := validClaims(clk)
	c["userId"] = 12345678901234567 // beyond float64's exact integers
	tok := sign(t, jwt.SigningMethodHS512, []byte(testSecret), "", c)
	for _, h := range []string{"Bearer " + tok, "bearer " + tok, tok} {
		// Header names match case-insensitively.
		res, err := a.Authorize(bg, connectEvent(nil, map[string]string{"authorization": h}))
		wantStatus(t, res, err, 0)
		if res.UserID != "12345678901234567" {
			t.Fatalf("UserID %q", res.UserID)
		}
	}
}

func TestJWTDefaultUserIDClaimIsSub(t *testing.T) {
	clk := newClock()
	cfg := hsConfig()
	cfg.UserIDClaim = ""
	a := mustNew(t, cfg, Options{Now: clk.Now})
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", validClaims(clk))
	res, err := a.Authorize(bg, connectEvent(map[string]string{"Authorization": tok}, nil))
	wantStatus(t, res, err, 0)
	if res.UserID != "auth0|abc" || res.PrincipalID != "auth0|abc" {
		t.Fatalf("UserID %q PrincipalID %q", res.UserID, res.PrincipalID)
	}
}

func TestJWTRefusals(t *testing.T) {
	clk := newClock()
	cfg := hsConfig()
	cfg.Issuer = "https://issuer.example"
	cfg.Audience = config.StringList{"other", "wsgate"}
	a := mustNew(t, cfg, Options{Now: clk.Now})

	with := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := validClaims(clk)
		mod(c)
		return c
	}
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", c) }
	good := hs(validClaims(clk))
	noneTok := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", validClaims(clk))
	parts := strings.Split(good, ".")

	cases := []struct {
		name  string
		token string
	}{
		{"forged signature", parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString([]byte("forged-signature-bytes-000000000"))},
		{"other secret", sign(t, jwt.SigningMethodHS256, []byte("another secret"), "", validClaims(clk))},
		{"tampered claims", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"userId":"1","exp":9999999999}`)) + "." + parts[2]},
		{"expired", hs(with(func(c jwt.MapClaims) { c["exp"] = clk.Now().Add(-time.Minute).Unix() }))},
		{"no exp", hs(with(func(c jwt.MapClaims) { delete(c, "exp") }))},
		{"nbf in future", hs(with(func(c jwt.MapClaims) { c["nbf"] = clk.Now().Add(time.Minute).Unix() }))},
		{"iat in future", hs(with(func(c jwt.MapClaims) { c["iat"] = clk.Now().Add(time.Minute).Unix() }))},
		{"wrong iss", hs(with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }))},
		{"no iss", hs(with(func(c jwt.MapClaims) { delete(c, "iss") }))},
		{"wrong aud", hs(with(func(c jwt.MapClaims) { c["aud"] = []string{"x", "y"} }))},
		{"no aud", hs(with(func(c jwt.MapClaims) { delete(c, "aud") }))},
		{"missing userId claim", hs(with(func(c jwt.MapClaims) { delete(c, "userId") }))},
		{"object userId claim", hs(with(func(c jwt.MapClaims) { c["userId"] = map[string]any{"a": 1} }))},
		{"alg none", noneTok},
		{"alg none without signature", parts[0][:0] + base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."},
		{"garbage", "not.a.jwt"},
		{"bearer only", "Bearer "},
		{"huge", strings.Repeat("a", maxTokenBytes+1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := a.Authorize(bg, connectEvent(map[string]string{"Authorization": tc.token}, nil))
			wantStatus(t, res, err, 401)
		})
	}
	// The good token passes the same authorizer: the refusals above are for their reason.
	res, err := a.Authorize(bg, connectEvent(map[string]string{"Authorization": good}, nil))
	wantStatus(t, res, err, 0)
	// Within the leeway (default 30s) an expired token still passes; past it, it does not.
	clk.Add(time.Hour + 20*time.Second)
	res, err = a.Authorize(bg, connectEvent(map[string]string{"Authorization": good}, nil))
	wantStatus(t, res, err, 0)
	clk.Add(20 * time.Second)
	res, err = a.Authorize(bg, connectEvent(map[string]string{"Authorization": good}, nil))
	wantStatus(t, res, err, 401)
}

func TestJWTMissingIdentity(t *testing.T) {
	a := mustNew(t, hsConfig(), Options{})
	for _, q := range []map[string]string{nil, {"Authorization": ""}, {"authorization": "x"}} {
		res, err := a.Authorize(bg, connectEvent(q, nil))
		wantStatus(t, res, err, 401)
	}
	res, err := a.Authorize(bg, nil)
	wantStatus(t, res, err, 401)
}

// jwksServer is an identity provider's JWKS endpoint whose keys the test can rotate or take down.
type jwksServer struct {
	*httptest.Server
	mu   sync.Mutex
	keys []jose.JSONWebKey
	down bool
	hits counter
}

func newJWKSServer(t testing.TB, keys ...jose.JSONWebKey) *jwksServer {
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.inc()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(down bool, keys ...jose.JSONWebKey) {
	s.mu.Lock()
	s.down = down
	if keys != nil {
		s.keys = keys
	}
	s.mu.Unlock()
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func jwksConfig(url string) config.Authorizer {
	return config.Authorizer{
		Type:           config.JWT,
		IdentitySource: config.StringList{"route.request.header.Authorization"},
		JWKSURL:        url,
		Issuer:         "https://issuer.example",
		Audience:       config.StringList{"wsgate"},
	}
}

func authHeader(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

func TestJWTJWKSRS256AndES256(t *testing.T) {
	clk := newClock()
	rk, rk2, encKey, ek := rsaKey(t), rsaKey(t), rsaKey(t), ecKey(t)
	srv := newJWKSServer(t,
		jose.JSONWebKey{Key: &rk.PublicKey, KeyID: "rsa1", Algorithm: "RS256", Use: "sig"},
		jose.JSONWebKey{Key: &ek.PublicKey, KeyID: "ec1", Use: "sig"},
		jose.JSONWebKey{Key: &rk2.PublicKey, KeyID: "rsa2", Use: "sig"},
		jose.JSONWebKey{Key: &encKey.PublicKey, KeyID: "enc", Use: "enc"},
	)
	a := mustNew(t, jwksConfig(srv.URL), Options{Now: clk.Now})

	for _, tc := range []struct {
		name   string
		method jwt.SigningMethod
		key    any
		kid    string
		status int
	}{
		{"RS256", jwt.SigningMethodRS256, rk, "rsa1", 0},
		{"ES256", jwt.SigningMethodES256, ek, "ec1", 0},
		{"PS256 with a key pinned to RS256", jwt.SigningMethodPS256, rk, "rsa1", 401},
		{"RS256 under the EC key's kid", jwt.SigningMethodRS256, rk, "ec1", 401},
		{"RS256 by another key", jwt.SigningMethodRS256, rsaKey(t), "rsa1", 401},
		{"PS256 by an unpinned key", jwt.SigningMethodPS256, rk2, "rsa2", 0},
		{"no kid: every fitting key is tried", jwt.SigningMethodRS256, rk2, "", 0},
		{"ES256 without kid", jwt.SigningMethodES256, ek, "", 0},
		{"encryption key is not a signature key", jwt.SigningMethodRS256, encKey, "enc", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := sign(t, tc.method, tc.key, tc.kid, validClaims(clk))
			res, err := a.Authorize(bg, connectEvent(nil, authHeader(tok)))
			wantStatus(t, res, err, tc.status)
			if tc.status == 0 && res.UserID != "auth0|abc" {
				t.Fatalf("UserID %q", res.UserID)
			}
		})
	}
}

func TestJWTAlgorithmConfusion(t *testing.T) {
	clk := newClock()
	rk := rsaKey(t)
	srv := newJWKSServer(t, jose.JSONWebKey{Key: &rk.PublicKey, KeyID: "rsa1", Use: "sig"})
	a := mustNew(t, jwksConfig(srv.URL), Options{Now: clk.Now})

	// The attacker knows the public key and uses its bytes as an HMAC secret.
	der, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	for _, secret := range [][]byte{pemBytes, der} {
		tok := sign(t, jwt.SigningMethodHS256, secret, "rsa1", validClaims(clk))
		res, err := a.Authorize(bg, connectEvent(nil, authHeader(tok)))
		wantStatus(t, res, err, 401)
	}

	// Even with HS256 explicitly allowed next to a JWKS, HS tokens verify only with the secret.
	cfg := jwksConfig(srv.URL)
	cfg.Secret = testSecret
	cfg.Algorithms = config.StringList{"HS256", "RS256"}
	b := mustNew(t, cfg, Options{Now: clk.Now})
	tok := sign(t, jwt.SigningMethodHS256, pemBytes, "rsa1", validClaims(clk))
	res, err := b.Authorize(bg, connectEvent(nil, authHeader(tok)))
	wantStatus(t, res, err, 401)
	tok = sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", validClaims(clk))
	res, err = b.Authorize(bg, connectEvent(nil, authHeader(tok)))
	wantStatus(t, res, err, 0)
}

func TestJWTKeyRotationAndRefetchLimit(t *testing.T) {
	clk := newClock()
	k1, k2 := rsaKey(t), rsaKey(t)
	srv := newJWKSServer(t, jose.JSONWebKey{Key: &k1.PublicKey, KeyID: "k1", Use: "sig"})
	a := mustNew(t, jwksConfig(srv.URL), Options{Now: clk.Now})

	tok1 := sign(t, jwt.SigningMethodRS256, k1, "k1", validClaims(clk))
	res, err := a.Authorize(bg, connectEvent(nil, authHeader(tok1)))
	wantStatus(t, res, err, 0)
	if n := srv.hits.get(); n != 1 {
		t.Fatalf("JWKS fetched %d times for the first token, want 1 (warm-up and first use share it)", n)
	}

	// A flood of unknown kids right after a fetch costs the IdP nothing.
	for i := range 50 {
		bad := sign(t, jwt.SigningMethodRS256, k2, "made-up-"+string(rune('a'+i%26)), validClaims(clk))
		res, err := a.Authorize(bg, connectEvent(nil, authHeader(bad)))
		wantStatus(t, res, err, 401)
	}
	if n := srv.hits.get(); n != 1 {
		t.Fatalf("JWKS fetched %d times during a flood of unknown kids, want 1", n)
	}

	// The IdP rotates to k2. Once the refetch interval has passed, the unknown kid triggers one
	// refetch and the token is admitted; the old key is gone.
	srv.set(false, jose.JSONWebKey{Key: &k2.PublicKey, KeyID: "k2", Use: "sig"})
	clk.Add(DefaultJWKSMinRefetch)
	tok2 := sign(t, jwt.SigningMethodRS256, k2, "k2", validClaims(clk))
	for range 5 {
		res, err = a.Authorize(bg, connectEvent(nil, authHeader(tok2)))
		wantStatus(t, res, err, 0)
	}
	if n := srv.hits.get(); n != 2 {
		t.Fatalf("JWKS fetched %d times after rotation, want 2", n)
	}
	clk.Add(DefaultJWKSMinRefetch)
	res, err = a.Authorize(bg, connectEvent(nil, authHeader(sign(t, jwt.SigningMethodRS256, k1, "k1", validClaims(clk)))))
	wantStatus(t, res, err, 401)
}

func TestJWTJWKSDown(t *testing.T) {
	clk := newClock()
	k := ecKey(t)
	srv := newJWKSServer(t, jose.JSONWebKey{Key: &k.PublicKey, KeyID: "e", Use: "sig"})
	srv.set(true)
	a := mustNew(t, jwksConfig(srv.URL), Options{Now: clk.Now})
	tok := sign(t, jwt.SigningMethodES256, k, "e", validClaims(clk))

	// A token that cannot be verified is refused as unverified (401); the cause is logged.
	res, err := a.Authorize(bg, connectEvent(nil, authHeader(tok)))
	wantStatus(t, res, err, 401)
	if !strings.Contains(err.Error(), "JWKS") {
		t.Fatalf("cause does not name the JWKS: %v", err)
	}
	hits := srv.hits.get()
	for range 20 {
		res, err = a.Authorize(bg, connectEvent(nil, authHeader(tok)))
		wantStatus(t, res, err, 401)
	}
	if n := srv.hits.get(); n != hits {
		t.Fatalf("a down IdP was retried %d times within the refetch interval", n-hits)
	}
	// The IdP recovers: after the interval the key is fetched and the token admitted.
	srv.set(false)
	clk.Add(DefaultJWKSMinRefetch)
	res, err = a.Authorize(bg, connectEvent(nil, authHeader(tok)))
	wantStatus(t, res, err, 0)

	// Unreachable altogether (connection refused) is the same 401.
	srv.Close()
	b := mustNew(t, jwksConfig(srv.URL), Options{Now: clk.Now})
	res, err = b.Authorize(bg, connectEvent(nil, authHeader(tok)))
	wantStatus(t, res, err, 401)
}

func TestJWTCacheHonoursExp(t *testing.T) {
	clk := newClock()
	cfg := hsConfig()
	cfg.ResultTTL = config.Duration(time.Hour)
	a := mustNew(t, cfg, Options{Now: clk.Now})
	c := validClaims(clk)
	c["exp"] = clk.Now().Add(2 * time.Minute).Unix()
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", c)
	ev := connectEvent(map[string]string{"Authorization": tok}, nil)
	r1, err := a.Authorize(bg, ev)
	wantStatus(t, r1, err, 0)
	r2, err := a.Authorize(bg, ev)
	wantStatus(t, r2, err, 0)
	if r1 != r2 {
		t.Fatal("second authorize within the TTL did not come from the cache")
	}
	// The TTL is an hour, but the token expires in 2 minutes (+30s leeway): no admission past it.
	clk.Add(3 * time.Minute)
	res, err := a.Authorize(bg, ev)
	wantStatus(t, res, err, 401)
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  config.Authorizer
		want string
	}{
		{"no type", config.Authorizer{}, "type"},
		{"jwt without key", config.Authorizer{Type: config.JWT}, "secret"},
		{"bad jwks url", config.Authorizer{Type: config.JWT, JWKSURL: "ftp://x"}, "jwksUrl"},
		{"bad alg", config.Authorizer{Type: config.JWT, Secret: "x", Algorithms: config.StringList{"none"}}, "algorithms[0]"},
		{"hs alg without secret", config.Authorizer{Type: config.JWT, JWKSURL: "http://x/", Algorithms: config.StringList{"HS256"}}, "needs secret"},
		{"bad source", config.Authorizer{Type: config.JWT, Secret: "x", IdentitySource: config.StringList{"header.Auth"}}, "identitySource[0]"},
		{"negative ttl", config.Authorizer{Type: config.JWT, Secret: "x", ResultTTL: config.Duration(-time.Second)}, "resultTtl"},
		{"request without uri", config.Authorizer{Type: config.Request, IntegrationType: config.HTTP}, "uri"},
		{"request bad type", config.Authorizer{Type: config.Request, IntegrationType: "MOCK", URI: "http://x/"}, "integrationType"},
		{"request bad url", config.Authorizer{Type: config.Request, IntegrationType: config.HTTP, URI: "x"}, "uri"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("a", tc.cfg, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "authorizers.a") {
				t.Fatalf("err %v, want one naming authorizers.a and %q", err, tc.want)
			}
		})
	}
}

// A token without exp is refused by default (as API Gateway's JWT authorizer refuses it), with
// a logged reason that names the way out; allowMissingExp admits it (an app whose tokens never
// expire runs as is), while an exp that is present is still checked.
func TestJWTWithoutExp(t *testing.T) {
	clk := newClock()
	var logs strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	noExp := validClaims(clk)
	delete(noExp, "exp")
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", noExp)
	ev := connectEvent(map[string]string{"Authorization": tok}, nil)

	a := mustNew(t, hsConfig(), Options{Now: clk.Now, Logger: log})
	res, err := a.Authorize(bg, ev)
	wantStatus(t, res, err, 401)
	mu.Lock()
	got := logs.String()
	mu.Unlock()
	if !strings.Contains(got, "token has no exp claim") || !strings.Contains(got, "allowMissingExp: true") {
		t.Errorf("refusal log does not say why and what to set:\n%s", got)
	}

	cfg := hsConfig()
	cfg.AllowMissingExp = true
	cfg.ResultTTL = config.Duration(time.Minute)
	a = mustNew(t, cfg, Options{Now: clk.Now})
	res, err = a.Authorize(bg, ev)
	wantStatus(t, res, err, 0)
	if res.UserID != "1234" {
		t.Fatalf("UserID %q, want 1234", res.UserID)
	}
	// Cached for resultTtl (no exp to cut it short), then checked again.
	clk.Add(30 * time.Second)
	res, err = a.Authorize(bg, ev)
	wantStatus(t, res, err, 0)

	expired := validClaims(clk)
	expired["exp"] = clk.Now().Add(-time.Hour).Unix()
	res, err = a.Authorize(bg, connectEvent(map[string]string{"Authorization": sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", expired)}, nil))
	wantStatus(t, res, err, 401)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
