package server_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// jwtAPI: a JWT authorizer reading ?Authorization=<jwt> (the pattern) in front of a
// recorded Lambda for $connect, messages and $disconnect.
const jwtAPI = `
routes:
  $connect: { integration: fn, authorizer: jwt }
  $disconnect: { integration: fn }
  $default: { integration: fn, routeResponse: true }
integrations:
  fn: { type: AWS_PROXY, uri: chat-handler, endpoint: "%s" }
authorizers:
  jwt: { type: JWT, identitySource: route.request.querystring.Authorization, secret: "%s", userIdClaim: userId }
`

// A token from the query string admits user 1234; its user id and claims reach
// requestContext.authorizer of $connect, every message and $disconnect.
func TestJWTQueryStringAdmitsUser(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) { return 200, "ok" })
	n := servertest.Start(t, fmt.Sprintf(jwtAPI, fn.URL(), testJWTSecret))
	c := dial(t, n.WS("/dev?Authorization="+hs256(t, testJWTSecret, userClaims("1234"))))
	send(t, c, "hello")
	if got := read(t, c); got != "ok" {
		t.Fatalf("answer = %q", got)
	}
	_ = c.Close(websocket.StatusNormalClosure, "")
	fn.WaitEvent(t, "$disconnect", "")

	evs := fn.ProxyEvents()
	if len(evs) != 3 {
		t.Fatalf("got %d events, want $connect, $default, $disconnect", len(evs))
	}
	for i, ev := range evs {
		rc := fn.RawEvent(i)["requestContext"].(map[string]any)
		auth, ok := rc["authorizer"].(map[string]any)
		if !ok {
			t.Fatalf("%s: no requestContext.authorizer: %v", ev.RequestContext.RouteKey, rc)
		}
		if auth["userId"] != "1234" || auth["principalId"] != "1234" || auth["role"] != "admin" ||
			auth["sub"] != "sub-1234" || auth["exp"] == nil {
			t.Errorf("%s: requestContext.authorizer = %v, want the token's claims and principalId 1234",
				ev.RequestContext.RouteKey, auth)
		}
		if rc["userId"] != "1234" {
			t.Errorf("%s: requestContext.userId = %v, want 1234", ev.RequestContext.RouteKey, rc["userId"])
		}
	}
	if evs[0].RequestContext.RouteKey != "$connect" || evs[2].RequestContext.RouteKey != "$disconnect" {
		t.Errorf("event order: %s, %s, %s", evs[0].RequestContext.RouteKey, evs[1].RequestContext.RouteKey, evs[2].RequestContext.RouteKey)
	}
}

// Forged, expired, alg:none, unsigned-claims and missing tokens are refused with 401 before
// any $connect integration call.
func TestJWTRefusedBeforeConnect(t *testing.T) {
	fn := harness.NewProxyLambda(t, nil)
	n := servertest.Start(t, fmt.Sprintf(jwtAPI, fn.URL(), testJWTSecret))

	expired := userClaims("1234")
	expired["exp"] = time.Now().Add(-10 * time.Minute).Unix()
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, userClaims("1234")).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	noExp := userClaims("1234")
	delete(noExp, "exp")
	noUser := userClaims("1234")
	delete(noUser, "userId")
	good := hs256(t, testJWTSecret, userClaims("1234"))
	parts := strings.Split(good, ".")
	cases := map[string]string{
		"forged (other secret)":      hs256(t, "not-the-secret-not-the-secret-xx", userClaims("1234")),
		"expired":                    hs256(t, testJWTSecret, expired),
		"alg none":                   none,
		"claims swapped":             parts[0] + "." + strings.Split(hs256(t, testJWTSecret, userClaims("9999")), ".")[1] + "." + parts[2],
		"no exp":                     hs256(t, testJWTSecret, noExp),
		"no userId claim":            hs256(t, testJWTSecret, noUser),
		"garbage":                    "not.a.jwt",
		"empty (identity missing)":   "",
		"no query (identity absent)": "-",
	}
	for name, tok := range cases {
		url := n.WS("/dev?Authorization=" + tok)
		if tok == "-" {
			url = n.WS("/dev")
		}
		_, resp, err := tryDial(url)
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Errorf("%s: err=%v status=%d, want HTTP 401", name, err, status)
		}
	}
	if got := len(fn.ProxyEvents()); got != 0 {
		t.Fatalf("the $connect integration was called %d times for refused tokens", got)
	}
	// The same node still admits a good token, so the refusals above were the tokens' fault.
	dial(t, n.WS("/dev?Authorization="+good))
	fn.WaitEvent(t, "$connect", "")
}

// A JWKS-backed RS256 token from the Authorization header (with "Bearer ") works; an HS256 token
// signed with the public key (algorithm confusion) and an unknown kid are refused.
func TestJWKSRS256(t *testing.T) {
	keys := newJWKS(t)
	n := servertest.Start(t, fmt.Sprintf(`
routes:
  $connect: { authorizer: rs }
  %s
integrations: %s
authorizers:
  rs: { type: JWT, jwksUrl: "%s", userIdClaim: userId, issuer: "https://issuer.example" }
`, strings.TrimSpace(whoamiRoute), "\n"+whoamiIntegration, keys.srv.URL))
	claims := userClaims("1234")
	claims["iss"] = "https://issuer.example"
	bearer := func(tok string) func(*websocket.DialOptions) {
		return func(o *websocket.DialOptions) { o.HTTPHeader = http.Header{"Authorization": {"Bearer " + tok}} }
	}
	c := dial(t, n.WS("/dev"), bearer(keys.sign(t, claims)))
	if _, uid := whoami(t, c); uid != "1234" {
		t.Fatalf("userId = %q, want 1234", uid)
	}

	pub, err := x509.MarshalPKIXPublicKey(&keys.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	confused := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	confused.Header["kid"] = keys.kid
	confusedTok, err := confused.SignedString(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	wrongIss := userClaims("1234")
	wrongIss["iss"] = "https://evil.example"
	otherKid := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	otherKid.Header["kid"] = "unknown-kid"
	otherKidTok, err := otherKid.SignedString(keys.key)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"HS256 with the public key": confusedTok,
		"wrong issuer":              keys.sign(t, wrongIss),
		"unknown kid":               otherKidTok,
	} {
		if _, resp, err := tryDial(n.WS("/dev"), bearer(tok)); err == nil || resp == nil || resp.StatusCode != 401 {
			t.Errorf("%s: err=%v resp=%v, want HTTP 401", name, err, resp)
		}
	}
}

// requestAPI: a Lambda REQUEST authorizer (Lambda Invoke API) with two identity sources.
const requestAPI = `
routes:
  $connect: { integration: fn, authorizer: fnauth }
  $disconnect: { integration: fn }
  $default: { integration: fn, routeResponse: true }
integrations:
  fn: { type: AWS_PROXY, uri: chat-handler, endpoint: "%s" }
authorizers:
  fnauth:
    type: REQUEST
    uri: my-authorizer
    endpoint: "%s"
    identitySource: [ route.request.header.X-Token, route.request.querystring.room ]
`

func decideByToken(in events.APIGatewayCustomAuthorizerRequestTypeRequest) (any, string) {
	switch in.Headers["X-Token"] {
	case "allow":
		return policy("user-77", "Allow", in.MethodArn, map[string]any{"tenant": "acme", "level": 3, "vip": true}), ""
	case "allow-wildcard":
		arn := in.MethodArn[:strings.LastIndex(in.MethodArn, "/dev/")] + "/*"
		return policy("user-78", "Allow", arn, nil), ""
	case "deny":
		return policy("user-77", "Deny", in.MethodArn, nil), ""
	case "other-route":
		return policy("user-77", "Allow", strings.Replace(in.MethodArn, "$connect", "$default", 1), nil), ""
	case "unauthorized":
		return nil, "Unauthorized"
	case "crash":
		return nil, "TypeError: cannot read properties of undefined"
	case "garbage":
		return map[string]any{"principalId": "x"}, ""
	}
	return policy("", "Deny", "*", nil), ""
}

// AWS's outcomes for a REQUEST authorizer: Deny (or an Allow for another resource) 403, the
// function's "Unauthorized" 401, a crash or an invalid answer 500, a missing identity source
// 401 without calling the function; none of them reaches $connect.
func TestRequestAuthorizerOutcomes(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) { return 200, "ok" })
	authz := newAuthLambda(t, decideByToken)
	n := servertest.Start(t, fmt.Sprintf(requestAPI, fn.URL(), authz.URL()))
	withToken := func(tok string) func(*websocket.DialOptions) {
		return func(o *websocket.DialOptions) { o.HTTPHeader = http.Header{"X-Token": {tok}} }
	}
	cases := []struct {
		token, query string
		want         int
		called       bool
	}{
		{"deny", "?room=1", 403, true},
		{"other-route", "?room=1", 403, true},
		{"unauthorized", "?room=1", 401, true},
		{"crash", "?room=1", 500, true},
		{"garbage", "?room=1", 500, true},
		{"", "?room=1", 401, false},       // header missing
		{"allow", "", 401, false},         // query parameter missing
		{"allow", "?room=", 401, false},   // present but empty
		{"allow", "?other=1", 401, false}, // another parameter
	}
	for _, tc := range cases {
		before := authz.Calls()
		var opts []func(*websocket.DialOptions)
		if tc.token != "" {
			opts = append(opts, withToken(tc.token))
		}
		_, resp, err := tryDial(n.WS("/dev"+tc.query), opts...)
		if err == nil || resp == nil || resp.StatusCode != tc.want {
			t.Errorf("token %q query %q: err=%v resp=%v, want HTTP %d", tc.token, tc.query, err, resp, tc.want)
		}
		if called := authz.Calls() > before; called != tc.called {
			t.Errorf("token %q query %q: authorizer called = %v, want %v", tc.token, tc.query, called, tc.called)
		}
	}
	if got := len(fn.ProxyEvents()); got != 0 {
		t.Fatalf("$connect integration called %d times for refused connections", got)
	}

	// The function gets AWS's REQUEST input event.
	in := lastAuthorizerInput(t, authz)
	if in.Type != "REQUEST" || !strings.HasPrefix(in.MethodArn, "arn:aws:execute-api:us-east-1:") ||
		!strings.HasSuffix(in.MethodArn, "/dev/$connect") {
		t.Errorf("input type %q methodArn %q", in.Type, in.MethodArn)
	}
	if in.Headers["X-Token"] != "garbage" || in.QueryStringParameters["room"] != "1" ||
		!strings.EqualFold(in.Headers["Upgrade"], "websocket") || in.RequestContext.Stage != "dev" {
		t.Errorf("input event: headers %v query %v stage %q", in.Headers, in.QueryStringParameters, in.RequestContext.Stage)
	}

	// A resource wildcard covering the stage admits.
	c := dial(t, n.WS("/dev?room=1"), withToken("allow-wildcard"))
	send(t, c, "x")
	if got := read(t, c); got != "ok" {
		t.Fatalf("answer = %q", got)
	}
}

// Allow with context: principalId and the context reach requestContext.authorizer of every
// event, $disconnect included, and principalId becomes the user id.
func TestRequestAuthorizerContextInDisconnect(t *testing.T) {
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) { return 200, "ok" })
	authz := newAuthLambda(t, decideByToken)
	n := servertest.Start(t, fmt.Sprintf(requestAPI, fn.URL(), authz.URL()))
	c := dial(t, n.WS("/dev?room=7"), func(o *websocket.DialOptions) { o.HTTPHeader = http.Header{"X-Token": {"allow"}} })
	send(t, c, "hi")
	read(t, c)
	_ = c.Close(websocket.StatusGoingAway, "")
	disc := fn.WaitEvent(t, "$disconnect", "")

	want := map[string]any{"principalId": "user-77", "tenant": "acme", "level": float64(3), "vip": true}
	for i, ev := range fn.ProxyEvents() {
		auth, _ := ev.RequestContext.Authorizer.(map[string]any)
		if len(auth) != len(want) {
			t.Errorf("%s: authorizer = %v, want %v", ev.RequestContext.RouteKey, auth, want)
			continue
		}
		for k, v := range want {
			if auth[k] != v {
				t.Errorf("%s: authorizer[%q] = %#v, want %#v", ev.RequestContext.RouteKey, k, auth[k], v)
			}
		}
		if uid := fn.RawEvent(i)["requestContext"].(map[string]any)["userId"]; uid != "user-77" {
			t.Errorf("%s: userId = %v, want the principalId", ev.RequestContext.RouteKey, uid)
		}
	}
	if disc.RequestContext.EventType != "DISCONNECT" {
		t.Fatalf("last event %+v", disc.RequestContext)
	}
	if authz.Calls() != 1 {
		t.Fatalf("authorizer calls = %d, want 1 (only $connect is authorized)", authz.Calls())
	}
}

// With resultTtl, a second connection with the same identity is admitted from the cache, a
// different identity calls the function again, and a cached Deny stays a 403.
func TestRequestAuthorizerCache(t *testing.T) {
	authz := newAuthLambda(t, decideByToken)
	n := servertest.Start(t, fmt.Sprintf(`
routes:
  $connect: { authorizer: fnauth }
authorizers:
  fnauth: { type: REQUEST, uri: my-authorizer, endpoint: "%s", identitySource: route.request.header.X-Token, resultTtl: 1m }
`, authz.URL()))
	withToken := func(tok string) func(*websocket.DialOptions) {
		return func(o *websocket.DialOptions) { o.HTTPHeader = http.Header{"X-Token": {tok}} }
	}
	for range 3 {
		c := dial(t, n.WS("/dev"), withToken("allow"))
		_ = c.Close(websocket.StatusNormalClosure, "")
	}
	if got := authz.Calls(); got != 1 {
		t.Fatalf("authorizer calls after 3 connects with one identity = %d, want 1", got)
	}
	for range 2 {
		if _, resp, err := tryDial(n.WS("/dev"), withToken("deny")); err == nil || resp == nil || resp.StatusCode != 403 {
			t.Fatalf("deny: err=%v resp=%v, want 403", err, resp)
		}
	}
	if got := authz.Calls(); got != 2 {
		t.Fatalf("authorizer calls = %d, want 2 (the Deny is cached too)", got)
	}
}
