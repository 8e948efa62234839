package authorizer

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/observe"
)

// maxTokenBytes refuses absurd tokens before any parsing.
const maxTokenBytes = 16 * 1024

// errNoExp is the logged cause of refusing a token without exp.
var errNoExp = errors.New("token has no exp claim (expiry); API Gateway's JWT authorizer refuses such tokens, and so does wsgate unless the authorizer sets allowMissingExp: true (--jwt-allow-missing-exp)")

var base64RawURL = base64.RawURLEncoding

var (
	hmacAlgs = []string{"HS256", "HS384", "HS512"}
	jwksAlgs = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"}
)

// jwtAuth verifies a JWT from the identity source in process.
//
// Token checks: signature (HS* with the secret, others with a JWKS key whose type fits the alg),
// alg among the allowed ones ("none" never is), exp required (as API Gateway's JWT authorizer
// requires it; allowMissingExp admits tokens without one) and with nbf and iat checked with the
// leeway, iss and aud when configured. Any failure is 401 "Unauthorized"; the cause is logged at
// debug level (warn when the JWKS cannot be fetched).
type jwtAuth struct {
	name    string
	sources []string
	sourceNames
	o         Options
	secret    []byte
	keys      *jwks
	parser    *jwt.Parser
	validator *jwt.Validator // the parser's checks of exp, nbf, iat, iss and aud
	algs      []string       // the allowed algorithms
	macs      macPool        // HMACs keyed with secret
	// lastHeader is the last header segment verify decoded, and what it read of it.
	lastHeader atomic.Pointer[headerMemo]
	userClaim  string
	// userClaimRequired: a configured userIdClaim must be present; the default "sub" may not be.
	userClaimRequired bool
	allowMissingExp   bool // config.Authorizer.AllowMissingExp
	ttl               time.Duration
	cache             *cache
}

func newJWT(name string, cfg config.Authorizer, sources []string, o Options) (*jwtAuth, error) {
	if cfg.Secret == "" && cfg.JWKSURL == "" {
		return nil, errors.New("JWT authorizer needs secret (HS256/384/512) or jwksUrl (RS*, ES*, PS*)")
	}
	if cfg.JWKSURL != "" {
		u, err := url.Parse(cfg.JWKSURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("jwksUrl %q: use an absolute http:// or https:// URL", cfg.JWKSURL)
		}
	}
	algs := []string(cfg.Algorithms)
	if len(algs) == 0 {
		if cfg.Secret != "" {
			algs = append(algs, hmacAlgs...)
		}
		if cfg.JWKSURL != "" {
			algs = append(algs, jwksAlgs...)
		}
	}
	for i, a := range algs {
		switch {
		case slices.Contains(hmacAlgs, a):
			if cfg.Secret == "" {
				return nil, fmt.Errorf("algorithms[%d] %s needs secret", i, a)
			}
		case slices.Contains(jwksAlgs, a) || a == "EdDSA":
			if cfg.JWKSURL == "" {
				return nil, fmt.Errorf("algorithms[%d] %s needs jwksUrl", i, a)
			}
		default:
			return nil, fmt.Errorf("algorithms[%d] %q: use HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512 or EdDSA", i, a)
		}
	}
	leeway := cfg.Leeway.D()
	if leeway == 0 {
		leeway = config.DefaultAuthorizerLeeway
	}
	if leeway < 0 {
		return nil, fmt.Errorf("leeway %s: must not be negative", leeway)
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(o.Now),
		jwt.WithIssuedAt(),
		jwt.WithJSONNumber(),
	}
	// exp, when present, is checked by the parser; its absence is refused in verify, with a
	// reason that names allowMissingExp.
	if cfg.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(cfg.Issuer))
	}
	if len(cfg.Audience) > 0 {
		popts = append(popts, jwt.WithAudience(cfg.Audience...))
	}
	a := &jwtAuth{
		name:              name,
		sources:           sources,
		sourceNames:       namesOf(sources),
		o:                 o,
		parser:            jwt.NewParser(popts...),
		validator:         jwt.NewValidator(popts...),
		algs:              algs,
		userClaim:         cfg.UserIDClaim,
		userClaimRequired: cfg.UserIDClaim != "",
		allowMissingExp:   cfg.AllowMissingExp,
		ttl:               cfg.ResultTTL.D(),
		cache:             newCache(DefaultCacheEntries, o.Now),
	}
	if a.userClaim == "" {
		a.userClaim = DefaultUserIDClaim
	}
	if cfg.Secret != "" {
		a.secret = []byte(cfg.Secret)
		a.macs.key = a.secret
	}
	if cfg.JWKSURL != "" {
		a.keys = newJWKS(cfg.JWKSURL, o.HTTPClient, o.Now, o.Logger.With("authorizer", name))
		a.keys.start(DefaultJWKSRefresh)
	}
	return a, nil
}

// Authorize implements Authorizer. The token is the first identity source's value, with or
// without a "Bearer " prefix. Admitted tokens are cached for resultTtl, never past their exp;
// refusals are not cached (they cost no remote call).
func (a *jwtAuth) Authorize(ctx context.Context, ev *event.Event) (*Result, error) {
	return a.AuthorizeSourced(ctx, ev, nil)
}

// IdentitySources implements Sourced.
func (a *jwtAuth) IdentitySources() []string { return a.sources }

// AuthorizeSourced implements Sourced: a JWT is verified from its identity source alone, so full
// is never called.
func (a *jwtAuth) AuthorizeSourced(ctx context.Context, ev *event.Event, _ func() *event.Event) (*Result, error) {
	vals, ok := IdentityValues(a.sources, ev, a.o.StageVariables)
	if !ok {
		return nil, a.refuse(unauthorized(errors.New("identity source missing or empty")))
	}
	return a.AuthorizeValues(ctx, vals)
}

// AuthorizeValues implements Valued: the token is vals[0]; all of vals key the cache.
func (a *jwtAuth) AuthorizeValues(ctx context.Context, vals []string) (*Result, error) {
	token := bearer(vals[0])
	var key string
	if a.ttl > 0 {
		key = cacheKey(vals)
		if out, hit := a.cache.get(key); hit {
			return out.res, nil
		}
	}
	res, exp, err := a.verify(ctx, token)
	if err != nil {
		return nil, a.refuse(err)
	}
	if a.ttl > 0 {
		ttl := a.ttl
		if !exp.IsZero() {
			ttl = min(ttl, exp.Sub(a.o.Now()))
		}
		a.cache.put(key, outcome{res: res}, ttl)
	}
	return res, nil
}

func (a *jwtAuth) refuse(e *Error) error {
	if a.o.Logger.Enabled(context.Background(), slog.LevelDebug) {
		a.o.Logger.Debug("connect refused", "authorizer", a.name, "status", e.Status, observe.KeyError, e.cause)
	}
	return e
}

// verify checks token and builds the Result; exp is the token's expiry.
//
// golang-jwt checks what it always checked (its signing methods verify the signature, its
// Validator the registered claims with the leeway); the token is split and decoded here, in
// one pass into a claimSet (claims.go) instead of a jwt.MapClaims copied into the context.
// A token this decoding leaves alone (malformed, or an unusual header) goes to
// verifyMapClaims, the parser as it was, whose refusal names what is wrong; the steps and
// their order are ParseWithClaims', and so are the errors.
func (a *jwtAuth) verify(ctx context.Context, token string) (*Result, time.Time, *Error) {
	if token == "" || len(token) > maxTokenBytes {
		return nil, time.Time{}, unauthorized(fmt.Errorf("token empty or longer than %d bytes", maxTokenBytes))
	}
	s := getScratch()
	defer s.put()
	s.tok = append(s.tok[:0], token...)
	h, rest, ok := bytes.Cut(s.tok, dot)
	if !ok {
		return a.verifyMapClaims(ctx, token)
	}
	p, sig, ok := bytes.Cut(rest, dot)
	if !ok || bytes.IndexByte(sig, '.') >= 0 {
		return a.verifyMapClaims(ctx, token)
	}
	var err error
	var alg, kid string
	if m := a.lastHeader.Load(); m != nil && string(h) == m.seg {
		alg, kid = m.alg, m.kid // an issuer's tokens share their header
	} else {
		if s.seg, err = decodeSegment(s.seg, h); err != nil {
			return a.verifyMapClaims(ctx, token)
		}
		if alg, kid, ok = s.header(s.seg); !ok {
			return a.verifyMapClaims(ctx, token)
		}
		a.lastHeader.Store(&headerMemo{seg: string(h), alg: alg, kid: kid})
	}
	if s.seg, err = decodeSegment(s.seg, p); err != nil {
		return a.verifyMapClaims(ctx, token)
	}
	claims := &s.set
	if !s.claims(s.seg, a.userClaim, claims) {
		return a.verifyMapClaims(ctx, token)
	}
	method := jwt.GetSigningMethod(alg)
	if method == nil {
		return a.verifyMapClaims(ctx, token)
	}
	if s.sig, err = decodeSegment(s.sig, sig); err != nil {
		return a.verifyMapClaims(ctx, token)
	}
	if !slices.Contains(a.algs, alg) {
		return nil, time.Time{}, unauthorized(fmt.Errorf("%w: %s", jwt.ErrTokenSignatureInvalid, "signing method "+alg+" is invalid"))
	}
	signed := s.tok[:len(h)+1+len(p)]
	if m, isHMAC := method.(*jwt.SigningMethodHMAC); isHMAC && a.secret != nil {
		// What keyFor and SigningMethodHMAC.Verify do, with a keyed HMAC from a pool.
		err = a.macs.verify(m, signed, s.sig)
	} else if key, kerr := a.keyFor(ctx, alg, kid); kerr != nil {
		return nil, time.Time{}, unauthorized(fmt.Errorf("%w: %s: %w", jwt.ErrTokenUnverifiable, "error while executing keyfunc", kerr))
	} else if set, isSet := key.(jwt.VerificationKeySet); isSet {
		if len(set.Keys) == 0 {
			return nil, time.Time{}, unauthorized(fmt.Errorf("%w: %s", jwt.ErrTokenUnverifiable, "keyfunc returned empty verification key set"))
		}
		for _, k := range set.Keys {
			if err = method.Verify(string(signed), s.sig, k); err == nil {
				break
			}
		}
	} else {
		err = method.Verify(string(signed), s.sig, key)
	}
	if err != nil {
		return nil, time.Time{}, unauthorized(fmt.Errorf("%w: %w", jwt.ErrTokenSignatureInvalid, err))
	}
	if err := a.validator.Validate(claims); err != nil {
		return nil, time.Time{}, unauthorized(fmt.Errorf("%w: %w", jwt.ErrTokenInvalidClaims, err))
	}
	return a.result(claims, claims.user, claims.subject, claims.ctx)
}

var dot = []byte{'.'}

// headerMemo is a header segment (base64url, as in the token) and its alg and kid.
type headerMemo struct{ seg, alg, kid string }

// result builds the Result of a verified token from its claims (for exp), the user id claim's
// and "sub"'s values, and its context entries, to which it adds principalId.
func (a *jwtAuth) result(claims jwt.Claims, user, sub any, ctxMap map[string]any) (*Result, time.Time, *Error) {
	exp, err := claims.GetExpirationTime()
	if err != nil {
		return nil, time.Time{}, unauthorized(err)
	}
	var expires time.Time // zero: the token does not expire (allowMissingExp)
	if exp != nil {
		expires = exp.Time
	} else if !a.allowMissingExp {
		return nil, time.Time{}, unauthorized(errNoExp)
	}
	uid, ok := claimString(user)
	if !ok && a.userClaimRequired {
		return nil, time.Time{}, unauthorized(fmt.Errorf("claim %q (userIdClaim) missing or not a string or number", a.userClaim))
	}
	principal := uid
	if principal == "" {
		principal, _ = claimString(sub)
	}
	if v, ok := ctxMap[a.userClaim]; ok && v == any(principal) {
		ctxMap["principalId"] = v // the same string, not boxed again
	} else {
		ctxMap["principalId"] = principal
	}
	return &Result{PrincipalID: principal, Context: ctxMap, UserID: uid}, expires, nil
}

// verifyMapClaims is verify with golang-jwt's parser into a jwt.MapClaims: how every token
// was verified before claims.go, and still how those that decoding leaves alone are.
func (a *jwtAuth) verifyMapClaims(ctx context.Context, token string) (*Result, time.Time, *Error) {
	var claims jwt.MapClaims
	tok, err := a.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return a.keyFor(ctx, t.Method.Alg(), kid)
	})
	if err != nil || !tok.Valid {
		if err == nil {
			err = errors.New("token invalid")
		}
		return nil, time.Time{}, unauthorized(err)
	}
	return a.result(claims, claims[a.userClaim], claims["sub"], contextOf(claims))
}

// contextOf is the authorizer context of decoded claims: each non-null claim as scalar makes it.
func contextOf(claims map[string]any) map[string]any {
	ctxMap := make(map[string]any, len(claims)+1)
	for k, v := range claims {
		if s, ok := scalar(v); ok {
			ctxMap[k] = s
		}
	}
	return ctxMap
}

// keyFor picks the verification key for a token signed with alg under kid ("" for none). HS* only ever verifies with the secret and the
// others only with a JWKS key of a fitting type, so an HS token signed with an RSA public key's
// bytes (algorithm confusion) cannot verify. The alg itself was already checked against the
// allowed list by the parser.
func (a *jwtAuth) keyFor(ctx context.Context, alg, kid string) (any, error) {
	if strings.HasPrefix(alg, "HS") {
		if a.secret == nil {
			return nil, fmt.Errorf("alg %s needs a secret, none configured", alg)
		}
		return a.secret, nil
	}
	if a.keys == nil {
		return nil, fmt.Errorf("alg %s needs jwksUrl, none configured", alg)
	}
	keys, err := a.keys.lookup(ctx, kid, alg)
	if err != nil {
		return nil, fmt.Errorf("kid %q alg %s: %w", kid, alg, err)
	}
	if len(keys) == 1 {
		return keys[0], nil
	}
	set := jwt.VerificationKeySet{Keys: make([]jwt.VerificationKey, len(keys))}
	for i, k := range keys {
		set.Keys[i] = k
	}
	return set, nil
}

// Close stops the JWKS refresh.
func (a *jwtAuth) Close() error {
	if a.keys != nil {
		a.keys.close()
	}
	return nil
}

// bearer strips an optional "Bearer " prefix (any case) and surrounding spaces.
func bearer(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		v = strings.TrimSpace(v[7:])
	}
	return v
}

// cacheKey encodes identity values injectively (each prefixed by its length), so that no
// choice of values can collide with another identity's key.
func cacheKey(vals []string) string {
	if len(vals) == 1 {
		return vals[0]
	}
	var b strings.Builder
	for _, v := range vals {
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	return b.String()
}
