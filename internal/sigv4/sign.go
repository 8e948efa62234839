package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
)

// deriveKey is the SigV4 key chain: HMAC("AWS4"+secret, date), then region, service and
// "aws4_request".
func deriveKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func appendStringToSign(dst []byte, amzDate, scope string, crHash []byte) []byte {
	dst = append(dst, algorithm...)
	dst = append(dst, '\n')
	dst = append(dst, amzDate...)
	dst = append(dst, '\n')
	dst = append(dst, scope...)
	dst = append(dst, '\n')
	return append(dst, crHash...)
}

// The SigV4 signature is HMAC-SHA256(signing key, string to sign), written out here so that
// the hot path does not allocate as crypto/hmac does. The signing key is 32 bytes, shorter
// than the SHA-256 block, so it is padded rather than hashed.
//
// appendInnerPad writes key XOR ipad (one block); the caller appends the message after it and
// passes SHA-256 of pad+message to hmacOuter.
func appendInnerPad(dst, key []byte) []byte {
	var pad [hmacBlock]byte
	copy(pad[:], key)
	for i := range pad {
		pad[i] ^= 0x36
	}
	return append(dst, pad[:]...)
}

func hmacOuter(key []byte, inner [sha256.Size]byte) [sha256.Size]byte {
	var outer [hmacBlock + sha256.Size]byte
	copy(outer[:], key)
	for i := 0; i < hmacBlock; i++ {
		outer[i] ^= 0x5c
	}
	copy(outer[hmacBlock:], inner[:])
	return sha256.Sum256(outer[:])
}

const hmacBlock = 64

// decodeSignature turns the 64 lower-case hex digits checkShape admitted into bytes, so the
// constant-time compare needs no allocation.
func decodeSignature(s string) [sha256.Size]byte {
	var out [sha256.Size]byte
	for i := 0; i+1 < len(s) && i/2 < len(out); i += 2 {
		out[i/2] = unhex(s[i])<<4 | unhex(s[i+1])
	}
	return out
}

func unhex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}
