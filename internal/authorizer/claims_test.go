package authorizer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/config"
)

// signRaw is an HS256 token over header and payload as given (any bytes, JSON or not).
func signRaw(header, payload string) string {
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, []byte(testSecret))
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// diffAuthorizers are HS256 authorizers of every configuration verify's result depends on.
func diffAuthorizers(tb testing.TB, clk *testClock) []*jwtAuth {
	var out []*jwtAuth
	for _, mod := range []func(*config.Authorizer){
		func(c *config.Authorizer) {},
		func(c *config.Authorizer) { c.UserIDClaim = "" },
		func(c *config.Authorizer) {
			c.Issuer = "https://issuer.example"
			c.Audience = config.StringList{"other", "wsgate"}
			c.AllowMissingExp = true
		},
		func(c *config.Authorizer) { c.UserIDClaim = "exp"; c.Algorithms = config.StringList{"HS512"} },
	} {
		cfg := hsConfig()
		mod(&cfg)
		out = append(out, mustNew(tb, cfg, Options{Now: clk.Now}).(*jwtAuth))
	}
	return out
}

// sameVerify fails unless verify and verifyMapClaims (golang-jwt's parser into jwt.MapClaims,
// how every token was verified before claims.go) agree on token: the same Result, expiry and
// refusal, cause included.
func sameVerify(t *testing.T, a *jwtAuth, token string) {
	t.Helper()
	res, exp, err := a.verify(bg, token)
	wres, wexp, werr := a.verifyMapClaims(bg, token)
	if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
		t.Fatalf("token %q:\nverify:          %v\nverifyMapClaims: %v", token, err, werr)
	}
	if !exp.Equal(wexp) {
		t.Fatalf("token %q: exp %v, MapClaims %v", token, exp, wexp)
	}
	if !reflect.DeepEqual(res, wres) {
		t.Fatalf("token %q:\nverify:          %#v\nverifyMapClaims: %#v", token, res, wres)
	}
}

// diffSeeds are header and payload pairs at the edges of what JSON and the claims allow.
var diffSeeds = [][2]string{
	{`{"alg":"HS256","typ":"JWT"}`, `{"sub":"bench-1","exp":1705755300,"channels":["bench-c1"]}`},
	{`{"alg":"HS256"}`, `{"sub":"a","userId":"1234","iss":"https://issuer.example","aud":"wsgate","iat":1705751700,"nbf":1705751700,"exp":1705755300,"roles":["admin","dev"],"org":{"id":7,"a":[1,{"z":1,"b":"<&>"}]},"tier":3,"beta":true,"n":null}`},
	{`{"alg":"HS256"}`, `{"userId":12345678901234567,"exp":1705755300.5,"aud":["x","wsgate"],"f":1.5e3,"big":1e400,"neg":-0}`},
	{`{"alg":"HS256"}`, `{"userId":"1","exp":"1705755300"}`},
	{`{"alg":"HS256"}`, `{"userId":"1","exp":null,"iss":null,"aud":null}`},
	{`{"alg":"HS256"}`, `{"userId":"1","exp":1705755300,"aud":["x",1]}`},
	{`{"alg":"HS256"}`, `{"userId":"1","exp":1705755300,"aud":[],"iss":7}`},
	{`{"alg":"HS256"}`, `{"userId":"1","userId":{"a":1},"exp":1,"exp":1705755300}`},
	{`{"alg":"HS256"}`, `{"userId":"é\u00e9\ud800x\"\\/","s":"a\u2028b","exp":1705755300,"a":[ "x" , 1 ],"h":["<a>"]}`},
	{`{"alg":"HS256"}`, "{\"userId\":\"\xff\xfe\",\"\\u0065xp\":1705755300,\"k\xffey\":1}"},
	{`{"alg":"HS256"}`, `{"userId":"1","exp":1705755300} trailing`},
	{`{"alg":"HS256"}`, `{"userId":"1","exp":1705755300`},
	{`{"alg":"HS256"}`, `null`},
	{`{"alg":"HS256"}`, `[1]`},
	{`{"alg":"HS256"}`, `{"principalId":"me","userId":"1","exp":1705755300}`},
	{`{"alg":"HS256","kid":7,"kid":"k"}`, `{"userId":"1","exp":1705755300}`},
	{`{"alg":"HS256"} x`, `{"userId":"1","exp":1705755300}`},
	{`{"alg":7}`, `{"userId":"1","exp":1705755300}`},
	{`{"alg":"HS256","alg":"none"}`, `{"userId":"1","exp":1705755300}`},
	{`{"\u0061lg":"HS256"}`, `{"userId":"1","exp":1705755300}`},
	{`{"alg":"RS256"}`, `{"userId":"1","exp":1705755300}`},
	{`{"alg":"XX1"}`, `{"userId":"1","exp":1705755300}`},
	{`{"alg":"HS512"}`, `{"userId":"1","exp":1705755300}`},
	{`{"alg":"HS256"}`, `{"userId":"1","exp":1705755300,"nbf":1705755300,"iat":0}`},
}

func TestVerifyMatchesMapClaims(t *testing.T) {
	clk := newClock()
	auths := diffAuthorizers(t, clk)
	for i, s := range diffSeeds {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			tok := signRaw(s[0], s[1])
			for _, a := range auths {
				sameVerify(t, a, tok)
				sameVerify(t, a, tok[:len(tok)-2]) // a bad signature
			}
		})
	}
	// The typical token is decoded here, not handed to golang-jwt's parser: it is admitted
	// with the context the parser's MapClaims gave.
	a := auths[1]
	res, _, err := a.verify(bg, signRaw(diffSeeds[0][0], diffSeeds[0][1]))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"sub": "bench-1", "exp": int64(1705755300), "channels": `["bench-c1"]`, "principalId": "bench-1"}
	if !reflect.DeepEqual(res.Context, want) || res.UserID != "bench-1" {
		t.Fatalf("Result %#v, want Context %#v", res, want)
	}
}

// FuzzVerifyMatchesMapClaims signs arbitrary headers and payloads with the secret, so that the
// fuzzer reaches past the signature, and holds verify to verifyMapClaims' answer.
func FuzzVerifyMatchesMapClaims(f *testing.F) {
	clk := newClock()
	auths := diffAuthorizers(f, clk)
	for _, s := range diffSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, header, payload string) {
		tok := signRaw(header, payload)
		for _, a := range auths {
			sameVerify(t, a, tok)
		}
	})
}

// FuzzVerifyTokenMatchesMapClaims holds verify to verifyMapClaims' answer on any token string.
func FuzzVerifyTokenMatchesMapClaims(f *testing.F) {
	clk := newClock()
	auths := diffAuthorizers(f, clk)
	for _, s := range diffSeeds[:4] {
		tok := signRaw(s[0], s[1])
		f.Add(tok)
		f.Add(strings.Replace(tok, ".", "..", 1))
		f.Add(tok + ".")
		f.Add(strings.Replace(tok, "e", "=", 1))
	}
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, token string) {
		if token == "" || len(token) > maxTokenBytes {
			return
		}
		for _, a := range auths {
			sameVerify(t, a, token)
		}
	})
}

// TestClaimSetMatchesMapClaims compares the getters golang-jwt's Validator calls.
func TestClaimSetMatchesMapClaims(t *testing.T) {
	for _, s := range diffSeeds {
		var m jwt.MapClaims
		if err := decodeJSON([]byte(s[1]), &m); err != nil || m == nil {
			continue
		}
		var c claimSet
		sc := getScratch()
		ok := sc.claims([]byte(s[1]), "userId", &c)
		sc.put()
		if !ok {
			t.Errorf("%s: not decoded", s[1])
			continue
		}
		for _, g := range []struct {
			name string
			a, b func() (any, error)
		}{
			{"exp", func() (any, error) { return c.GetExpirationTime() }, func() (any, error) { return m.GetExpirationTime() }},
			{"nbf", func() (any, error) { return c.GetNotBefore() }, func() (any, error) { return m.GetNotBefore() }},
			{"iat", func() (any, error) { return c.GetIssuedAt() }, func() (any, error) { return m.GetIssuedAt() }},
			{"iss", func() (any, error) { return c.GetIssuer() }, func() (any, error) { return m.GetIssuer() }},
			{"sub", func() (any, error) { return c.GetSubject() }, func() (any, error) { return m.GetSubject() }},
			{"aud", func() (any, error) { return c.GetAudience() }, func() (any, error) { return m.GetAudience() }},
		} {
			got, gerr := g.a()
			want, werr := g.b()
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s = %#v, %v; MapClaims: %#v, %v", s[1], g.name, got, gerr, want, werr)
			}
		}
	}
}

// benchToken is a typical connect token: the one wsgate-bench --jwt signs (sub, exp and
// Centrifugo's channels claim), HS256.
func benchToken(clk *testClock) string {
	b, _ := json.Marshal(map[string]any{"sub": "bench-1234", "exp": clk.Now().Add(time.Hour).Unix(), "channels": []string{"bench-c1234"}})
	return signRaw(`{"alg":"HS256","typ":"JWT"}`, string(b))
}

// maxVerifyAllocs pins the allocations of verifying benchToken (verifyMapClaims, golang-jwt's
// parser into jwt.MapClaims, takes 64): the Result and its context (the map, the strings of
// sub, exp and channels and their boxes), the exp NumericDate and the error list of
// golang-jwt's Validator. The header is the last one decoded (jwtAuth.lastHeader).
const maxVerifyAllocs = 11

func TestVerifyHS256Allocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	clk := newClock()
	cfg := hsConfig()
	cfg.UserIDClaim = ""
	a := mustNew(t, cfg, Options{Now: clk.Now}).(*jwtAuth)
	tok := benchToken(clk)
	if _, _, err := a.verify(bg, tok); err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(200, func() {
		if _, _, err := a.verify(bg, tok); err != nil {
			t.Fatal(err)
		}
	})
	if n > maxVerifyAllocs {
		t.Fatalf("verify of a typical HS256 token: %.0f allocations, want at most %d", n, maxVerifyAllocs)
	}
}

// BenchmarkVerifyHS256 is verify of a typical connect token; MapClaims is the same token
// through golang-jwt's parser into jwt.MapClaims (verify before claims.go).
func BenchmarkVerifyHS256(b *testing.B) {
	clk := newClock()
	cfg := hsConfig()
	cfg.UserIDClaim = ""
	a := mustNew(b, cfg, Options{Now: clk.Now}).(*jwtAuth)
	tok := benchToken(clk)
	for _, bc := range []struct {
		name   string
		verify func() *Error
	}{
		{"claimSet", func() *Error { _, _, err := a.verify(bg, tok); return err }},
		{"MapClaims", func() *Error { _, _, err := a.verifyMapClaims(bg, tok); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.verify(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Verifies running at once share no decoding state: each Result is its own token's, also
// after the scratch it was decoded in has been reused.
func TestVerifyConcurrent(t *testing.T) {
	clk := newClock()
	cfg := hsConfig()
	cfg.UserIDClaim = ""
	a := mustNew(t, cfg, Options{Now: clk.Now}).(*jwtAuth)
	const workers, rounds = 4, 200
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			var kept []*Result
			for i := range rounds {
				sub := fmt.Sprintf("user-%d-%d", w, i)
				tok := signRaw(`{"alg":"HS256"}`, fmt.Sprintf(`{"sub":%q,"exp":%d,"channels":[%q]}`, sub, clk.Now().Add(time.Hour).Unix(), "c-"+sub))
				res, _, err := a.verify(bg, tok)
				if err != nil {
					errs <- err
					return
				}
				kept = append(kept, res)
			}
			for i, res := range kept {
				sub := fmt.Sprintf("user-%d-%d", w, i)
				if res.UserID != sub || res.Context["sub"] != sub || res.Context["channels"] != `["c-`+sub+`"]` {
					errs <- fmt.Errorf("result %d of worker %d: %+v", i, w, res)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
