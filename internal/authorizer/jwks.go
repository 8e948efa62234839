package authorizer

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/wsgate/wsgate/internal/observe"
)

// JWKS tunables.
const (
	// DefaultJWKSRefresh is how often the key set is refetched in the background, so that keys
	// the identity provider retires stop being accepted.
	DefaultJWKSRefresh = 15 * time.Minute
	// DefaultJWKSMinRefetch is the least time between two fetches caused by tokens whose kid is
	// unknown (or by a failed fetch): a flood of made-up kids costs the identity provider at
	// most one request per interval.
	DefaultJWKSMinRefetch = 10 * time.Second
	// DefaultJWKSFetchTimeout bounds one fetch.
	DefaultJWKSFetchTimeout = 5 * time.Second
	// maxJWKSBytes bounds the key set document.
	maxJWKSBytes = 1 << 20
)

var errKeyNotFound = errors.New("no key in the JWKS matches the token's kid and alg")

// jwks is a cached JSON Web Key Set. Lookups are lock-free; fetches are serialized by sem, and
// rate limited by lastAttempt. Safe for concurrent use.
type jwks struct {
	url     string
	client  *http.Client
	now     func() time.Time
	log     *slog.Logger
	timeout time.Duration
	minGap  time.Duration

	keys atomic.Pointer[[]jose.JSONWebKey]
	sem  chan struct{} // holds the right to fetch; also guards lastAttempt
	// lastAttempt is when the last fetch started (success or not); zero before the first.
	lastAttempt time.Time
	fetches     atomic.Int64 // for logs and tests

	stop chan struct{}
	done chan struct{}
}

func newJWKS(url string, client *http.Client, now func() time.Time, log *slog.Logger) *jwks {
	return &jwks{
		url: url, client: client, now: now, log: log,
		timeout: DefaultJWKSFetchTimeout, minGap: DefaultJWKSMinRefetch,
		sem: make(chan struct{}, 1),
	}
}

// start warms the cache and refreshes it every interval until close.
func (k *jwks) start(interval time.Duration) {
	k.stop = make(chan struct{})
	k.done = make(chan struct{})
	go func() {
		defer close(k.done)
		k.refresh(context.Background(), true)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-k.stop:
				return
			case <-t.C:
				k.refresh(context.Background(), false)
			}
		}
	}()
}

func (k *jwks) close() {
	if k.stop != nil {
		close(k.stop)
		<-k.done
		k.stop = nil
	}
}

// refresh fetches the set. With onlyIfNever it does nothing once any fetch was attempted (the
// warm-up must not duplicate a fetch a connect already made).
func (k *jwks) refresh(ctx context.Context, onlyIfNever bool) {
	select {
	case k.sem <- struct{}{}:
	case <-k.stop:
		return
	}
	defer func() { <-k.sem }()
	if onlyIfNever && !k.lastAttempt.IsZero() {
		return
	}
	k.fetchLocked(ctx)
}

// lookup returns the keys that can verify a token with this kid and alg. On a miss it refetches
// the set, at most once per minGap, and looks again.
func (k *jwks) lookup(ctx context.Context, kid, alg string) ([]any, error) {
	if keys := match(k.keys.Load(), kid, alg); len(keys) > 0 {
		return keys, nil
	}
	select {
	case k.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-k.sem }()
	// Another caller may have fetched while we waited.
	if keys := match(k.keys.Load(), kid, alg); len(keys) > 0 {
		return keys, nil
	}
	if !k.lastAttempt.IsZero() && k.now().Sub(k.lastAttempt) < k.minGap {
		if k.keys.Load() == nil {
			return nil, errors.New("JWKS not available (last fetch failed; retrying is rate limited)")
		}
		return nil, errKeyNotFound
	}
	if err := k.fetchLocked(ctx); err != nil && k.keys.Load() == nil {
		return nil, err
	}
	if keys := match(k.keys.Load(), kid, alg); len(keys) > 0 {
		return keys, nil
	}
	return nil, errKeyNotFound
}

// fetchLocked fetches and installs the set; the caller holds sem. On failure the previous set
// stays in use (stale keys beat none while the identity provider is down).
func (k *jwks) fetchLocked(ctx context.Context) error {
	k.lastAttempt = k.now()
	k.fetches.Add(1)
	keys, err := k.fetch(ctx)
	if err != nil {
		k.log.Warn("JWKS fetch failed", "url", k.url, observe.KeyError, err)
		return err
	}
	k.keys.Store(&keys)
	k.log.Debug("JWKS fetched", "url", k.url, "keys", len(keys))
	return nil
}

func (k *jwks) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: read: %w", k.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS %s: status %d", k.url, resp.StatusCode)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("fetch JWKS %s: document larger than %d bytes", k.url, maxJWKSBytes)
	}
	return parseJWKS(body)
}

// parseJWKS decodes a key set, keeping the public signature keys it can use and skipping the
// others (encryption keys, unknown key types) rather than failing on them.
func parseJWKS(body []byte) ([]jose.JSONWebKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("JWKS is not JSON of the form {\"keys\":[...]}: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range doc.Keys {
		var jk jose.JSONWebKey
		if err := jk.UnmarshalJSON(raw); err != nil {
			continue
		}
		if jk.Use != "" && jk.Use != "sig" {
			continue
		}
		switch key := jk.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		case *rsa.PrivateKey:
			jk.Key = &key.PublicKey
		case *ecdsa.PrivateKey:
			jk.Key = &key.PublicKey
		case ed25519.PrivateKey:
			jk.Key = key.Public()
		default:
			continue // symmetric keys never come from a JWKS URL
		}
		keys = append(keys, jk)
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS has no usable public signature key (RSA, EC or Ed25519)")
	}
	return keys, nil
}

// match returns the keys of set that fit the token: same kid (any key when the token has
// none), a key type that fits alg, and the key's own alg, when it declares one, equal to alg.
func match(set *[]jose.JSONWebKey, kid, alg string) []any {
	if set == nil {
		return nil
	}
	var out []any
	for i := range *set {
		jk := &(*set)[i]
		if kid != "" && jk.KeyID != kid {
			continue
		}
		if jk.Algorithm != "" && jk.Algorithm != alg {
			continue
		}
		if keyFits(jk.Key, alg) {
			out = append(out, jk.Key)
		}
	}
	return out
}

// keyFits refuses algorithm confusion: an RSA key only verifies RS*/PS*, an EC key ES*, an
// Ed25519 key EdDSA, and nothing from a JWKS verifies HS*.
func keyFits(key any, alg string) bool {
	switch key.(type) {
	case *rsa.PublicKey:
		return len(alg) == 5 && (alg[:2] == "RS" || alg[:2] == "PS")
	case *ecdsa.PublicKey:
		return len(alg) == 5 && alg[:2] == "ES"
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
