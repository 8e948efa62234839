// Package ascii compares HTTP tokens (header names, Connection and Transfer-Encoding values)
// the way RFC 9110 §5.1 asks: case-insensitively, in ASCII only. strings.EqualFold folds
// Unicode too (the Kelvin sign matches 'k'), which a token never needs, and bytes.EqualFold
// would need the literal as a []byte.
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
