package ascii

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEqualFold(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"Content-Length", "content-length", true},
		{"CONNECTION", "Connection", true},
		{"keep-alive", "Keep-Alive", true},
		{"chunked", "chunke", false},
		{"", "", true},
		{"\u212a", "k", false}, // the Kelvin sign: strings.EqualFold says yes, a token never
		{"a[", "A{", false},    // '[' and '{' are 0x20 apart too, but not letters
	} {
		if got := EqualFold(tc.a, tc.b); got != tc.want {
			t.Errorf("EqualFold(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := EqualFold([]byte(tc.a), tc.b); got != tc.want {
			t.Errorf("EqualFold([]byte(%q), %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// On ASCII input EqualFold agrees with strings.EqualFold.
func FuzzEqualFold(f *testing.F) {
	f.Add("Transfer-Encoding", "transfer-encoding")
	f.Add("Upgrade", "upgrade!")
	f.Fuzz(func(t *testing.T, a, b string) {
		if !isASCII(a) || !isASCII(b) {
			return
		}
		if got, want := EqualFold(a, b), strings.EqualFold(a, b); got != want {
			t.Fatalf("EqualFold(%q, %q) = %v, strings.EqualFold says %v", a, b, got, want)
		}
	})
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// IsToken takes exactly RFC 9110's tchar: letters, digits and !#$%&'*+-.^_`|~, and nothing empty.
func TestIsToken(t *testing.T) {
	for c := range 256 {
		want := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c))
		if got := IsToken([]byte{byte(c)}); got != want {
			t.Errorf("IsToken(%q) = %v", rune(c), got)
		}
	}
	if IsToken("") || !IsToken("X-Api-Key") || IsToken("X A") || IsToken([]byte("a:b")) {
		t.Error("IsToken of a name")
	}
}
