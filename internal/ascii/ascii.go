// Package ascii compares HTTP tokens (header names, Connection and Transfer-Encoding values)
// the way RFC 9110 §5.1 asks, case-insensitively, in ASCII only, and tells a token from what
// is not one (IsToken). strings.EqualFold folds Unicode too (the Kelvin sign matches 'k'),
// which a token never needs, and bytes.EqualFold would need the literal as a []byte.
package ascii

// EqualFold reports whether a and b are equal when ASCII letters are folded to lower case;
// other bytes must match exactly.
func EqualFold[T ~string | ~[]byte](a T, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(b) {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// IsToken reports whether s is a non-empty RFC 9110 token (§5.6.2): what a header name must be.
func IsToken[T ~string | ~[]byte](s T) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c < 0x80 && tchar[c]:
		default:
			return false
		}
	}
	return len(s) > 0
}

// tchar marks the token characters other than letters and digits: !#$%&'*+-.^_`|~.
var tchar = func() (t [128]bool) {
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
