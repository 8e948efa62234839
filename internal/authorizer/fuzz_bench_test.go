package authorizer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/config"
)

// FuzzJWTParse feeds arbitrary token strings to an HS256 authorizer: it never panics, always
// answers a Result or an *Error 401, and only admits tokens that really carry the secret's
// signature (the fuzzer cannot forge one, so an admission must be a seed's valid token).
func FuzzJWTParse(f *testing.F) {
	clk := newClock()
	good := sign(f, jwt.SigningMethodHS256, []byte(testSecret), "", validClaims(clk))
	f.Add(good)
	f.Add("Bearer " + good)
	f.Add(sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", validClaims(clk)))
	f.Add(sign(f, jwt.SigningMethodHS256, []byte("wrong"), "", validClaims(clk)))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("...")
	f.Add("")
	f.Add(strings.Repeat("e", 100))
	parts := strings.Split(good, ".")

	a, err := New("fuzz", hsConfig(), Options{Now: clk.Now})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = a.Close() })
	f.Fuzz(func(t *testing.T, token string) {
		res, err := a.Authorize(bg, connectEvent(map[string]string{"Authorization": token}, nil))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 401 || res != nil {
				t.Fatalf("res=%v err=%v: want nil and *Error 401", res, err)
			}
			return
		}
		if res == nil || res.UserID != "1234" {
			t.Fatalf("admitted with res %+v", res)
		}
		if tp := strings.Split(bearer(token), "."); len(tp) != 3 || tp[2] != parts[2] {
			t.Fatalf("admitted %q without the valid signature", token)
		}
	})
}

func BenchmarkAuthorizeCached(b *testing.B) {
	clk := newClock()
	cfg := hsConfig()
	cfg.ResultTTL = config.Duration(time.Hour)
	a := mustNew(b, cfg, Options{Now: clk.Now})
	ev := connectEvent(map[string]string{"Authorization": sign(b, jwt.SigningMethodHS256, []byte(testSecret), "", validClaims(clk))}, nil)
	if _, err := a.Authorize(bg, ev); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Authorize(bg, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthorizeHS256(b *testing.B) {
	clk := newClock()
	a := mustNew(b, hsConfig(), Options{Now: clk.Now})
	ev := connectEvent(map[string]string{"Authorization": sign(b, jwt.SigningMethodHS256, []byte(testSecret), "", validClaims(clk))}, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authorize(bg, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthorizeRequestCached(b *testing.B) {
	srv := newFnServer(b)
	srv.setAnswer(allowAny)
	cfg := config.Authorizer{Type: config.Request, IntegrationType: config.HTTP, URI: srv.URL + "/authorize",
		ResultTTL: config.Duration(time.Hour)}
	a := mustNew(b, cfg, Options{})
	ev := connectEvent(nil, map[string]string{"Authorization": "tok"})
	if _, err := a.Authorize(bg, ev); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authorize(bg, ev); err != nil {
			b.Fatal(err)
		}
	}
}
