package cli

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

const jwtTemplate = "testdata/jwt-authorizer/template.yaml"

// dialStatus dials url and returns the handshake's status (101 when admitted).
func dialStatus(t *testing.T, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, nil)
	if err == nil {
		_ = c.CloseNow()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return resp.StatusCode
}

func hsToken(t *testing.T, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Issue 13 §5: --jwt-authorizer puts the built-in JWT authorizer in place of a template's
// REQUEST authorizer whose function cannot run here (Java); the template's IdentitySource is
// kept, the token's sub becomes $context.authorizer.principalId. A token without exp is refused
// unless --jwt-allow-missing-exp is given.
func TestServeTemplateJWTAuthorizer(t *testing.T) {
	code, _, errs := runCLI("serve", "--template", jwtTemplate, "--listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errs, "java21, which wsgate cannot run") || !strings.Contains(errs, "--jwt-authorizer Auth") {
		t.Fatalf("without --jwt-authorizer: exit %d, want 1 naming --jwt-authorizer Auth:\n%s", code, errs)
	}

	const secret = "integration-manager-secret"
	exp := time.Now().Add(time.Hour).Unix()
	withExp := hsToken(t, secret, jwt.MapClaims{"sub": "alice", "exp": exp})
	noExp := hsToken(t, secret, jwt.MapClaims{"sub": "bob"})
	wrongKey := hsToken(t, "another-secret", jwt.MapClaims{"sub": "mallory", "exp": exp})

	s := startServe(t, "--template", jwtTemplate, "--jwt-authorizer", "Auth", "--jwt-secret", secret)
	base := "ws://" + s.addr + "/dev"
	c := dialWS(t, base+"?token="+withExp, nil)
	sendWS(t, c, "hello")
	if got := readWS(t, c); got != "user=alice" {
		t.Fatalf("$default answered %q, want the token's sub as principalId", got)
	}
	for name, url := range map[string]string{
		"no token": base, "wrong key": base + "?token=" + wrongKey, "no exp": base + "?token=" + noExp,
	} {
		if got := dialStatus(t, url); got != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, got)
		}
	}
	// The refusal of a token without exp says why in the access log (the client sees only 401).
	if !strings.Contains(s.stderr.String(), "token has no exp claim") || !strings.Contains(s.stderr.String(), "--jwt-allow-missing-exp") {
		t.Errorf("no logged reason for refusing a token without exp:\n%s", s.stderr)
	}
	if !strings.Contains(s.stderr.String(), "replaced by wsgate's JWT authorizer") {
		t.Errorf("no warning that the authorizer was replaced:\n%s", s.stderr)
	}

	// By the authorizer's Name, the secret from the environment, tokens without exp admitted.
	t.Setenv(envJWTSecret, secret)
	s = startServe(t, "--template", jwtTemplate, "--jwt-authorizer", "token-authorizer", "--jwt-allow-missing-exp")
	c = dialWS(t, "ws://"+s.addr+"/dev?token="+noExp, nil)
	sendWS(t, c, "hello")
	if got := readWS(t, c); got != "user=bob" {
		t.Fatalf("$default answered %q, want user=bob", got)
	}
	if got := dialStatus(t, "ws://"+s.addr+"/dev?token="+wrongKey); got != http.StatusUnauthorized {
		t.Errorf("wrong key with --jwt-allow-missing-exp: status %d, want 401", got)
	}
}

// The --jwt-* flags name what is missing or wrong.
func TestJWTAuthorizerFlagErrors(t *testing.T) {
	t.Setenv(envJWTSecret, "")
	for _, tc := range []struct {
		template string
		args     []string
		want     string
	}{
		{jwtTemplate, []string{"--jwt-secret", "x"}, "add --jwt-authorizer"},
		{jwtTemplate, []string{"--jwt-authorizer", "Auth"}, "--jwt-authorizer needs the key tokens are verified with"},
		{templates + "/request-authorizer/template.yaml", []string{"--jwt-authorizer", "Nope", "--jwt-secret", "x"},
			"--jwt-authorizer Nope: no authorizer of the served API has that logical id or Name (authorizers: Authorizer)"},
		{templates + "/tutorial/template.yaml", []string{"--jwt-authorizer", "Nope", "--jwt-secret", "x"},
			"--jwt-authorizer Nope: no authorizer of the served API has that logical id or Name (the API has no authorizers)"},
	} {
		code, _, errs := runCLI(append([]string{"import", tc.template}, tc.args...)...)
		if code != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("import %v: exit %d, want 1 with %q:\n%s", tc.args, code, tc.want, errs)
		}
	}
	code, _, errs := runCLI("serve", "--jwt-authorizer", "Auth", "--jwt-secret", "x", "--listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errs, "go with --template") {
		t.Errorf("serve --jwt-authorizer without --template: exit %d:\n%s", code, errs)
	}
}
