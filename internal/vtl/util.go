package vtl

import (
	"encoding/base64"
	"net/url"
	"strings"
	"unicode/utf16"
)

// utilMethod implements $util.*.
func utilMethod(name string, args []any) any {
	switch name {
	case "qr", "quiet":
		// AppSync's quiet return: the arguments are evaluated for their side effects
		// ($util.qr($list.add($x))) and nothing is rendered.
		return ""
	}
	if len(args) != 1 {
		return nil
	}
	s, ok := toString(args[0])
	if !ok {
		return nil
	}
	switch name {
	case "escapeJavaScript":
		return escapeJavaScript(s)
	case "parseJson":
		v, err := parseJSON(s)
		if err != nil {
			return nil
		}
		return v
	case "urlEncode":
		return urlEncode(s)
	case "urlDecode":
		d, err := url.QueryUnescape(s)
		if err != nil {
			return nil
		}
		return d
	case "base64Encode":
		return base64.StdEncoding.EncodeToString([]byte(s))
	case "base64Decode":
		d, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil
		}
		return string(d)
	}
	return nil
}

// escapeJavaScript escapes s as Apache Commons Lang 2 StringEscapeUtils.escapeJavaScript
// does (what AWS uses): quotes, backslash and '/' get a backslash, control characters their
// short escapes or \u00XX, and every non-ASCII UTF-16 unit \uXXXX in upper-case hex.
func escapeJavaScript(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	u := func(c uint16) {
		b.WriteString(`\u`)
		b.WriteByte(hex[c>>12])
		b.WriteByte(hex[c>>8&0xf])
		b.WriteByte(hex[c>>4&0xf])
		b.WriteByte(hex[c&0xf])
	}
	for _, r := range s {
		switch {
		case r >= 0x10000:
			r1, r2 := utf16.EncodeRune(r)
			u(uint16(r1))
			u(uint16(r2))
		case r > 0x7f:
			u(uint16(r))
		case r < 0x20:
			switch r {
			case '\b':
				b.WriteString(`\b`)
			case '\n':
				b.WriteString(`\n`)
			case '\t':
				b.WriteString(`\t`)
			case '\f':
				b.WriteString(`\f`)
			case '\r':
				b.WriteString(`\r`)
			default:
				u(uint16(r))
			}
		case r == '\'', r == '"', r == '\\', r == '/':
			b.WriteByte('\\')
			b.WriteByte(byte(r))
		default:
			b.WriteByte(byte(r))
		}
	}
	return b.String()
}

// urlEncode is java.net.URLEncoder.encode(s, "UTF-8"): letters, digits and ".-*_" stay, a space
// becomes '+', every other byte %XX.
func urlEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '*', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
	return b.String()
}
