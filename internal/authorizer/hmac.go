package authorizer

import (
	"crypto"
	"crypto/hmac"
	"hash"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// macPool verifies HS256/384/512 signatures with HMACs keyed once: what
// jwt.SigningMethodHMAC.Verify does with the secret, without keying a new HMAC per token (an
// HMAC keyed once restores its keyed state on Reset, where a new one hashes the key pads
// again and allocates seven times).
type macPool struct {
	key   []byte
	pools [3]sync.Pool // SHA-256, SHA-384, SHA-512
}

type pooledMAC struct {
	h   hash.Hash
	sum []byte
}

// verify reports jwt.ErrSignatureInvalid unless sig is m's HMAC of signed with the key (and
// jwt.ErrHashUnavailable as m.Verify would).
func (p *macPool) verify(m *jwt.SigningMethodHMAC, signed, sig []byte) error {
	i := 0
	switch m.Hash {
	case crypto.SHA256:
	case crypto.SHA384:
		i = 1
	case crypto.SHA512:
		i = 2
	default:
		return m.Verify(string(signed), sig, p.key)
	}
	if !m.Hash.Available() {
		return jwt.ErrHashUnavailable
	}
	pm, _ := p.pools[i].Get().(*pooledMAC)
	if pm == nil {
		pm = &pooledMAC{h: hmac.New(m.Hash.New, p.key)}
	}
	pm.h.Reset()
	pm.h.Write(signed)
	pm.sum = pm.h.Sum(pm.sum[:0])
	ok := hmac.Equal(sig, pm.sum)
	p.pools[i].Put(pm)
	if !ok {
		return jwt.ErrSignatureInvalid
	}
	return nil
}
