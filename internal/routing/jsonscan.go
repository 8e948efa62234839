package routing

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// The scanner below walks JSON text that json.Valid has already accepted, so it trusts the
// grammar and only finds where values begin and end. It allocates nothing except to unescape a
// key or string that holds backslash escapes.

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just after the string that starts at b[i] == '"'.
func skipString(b []byte, i int) int {
	i++
	for i < len(b) {
		switch b[i] {
		case '\\':
			i += 2
		case '"':
			return i + 1
		default:
			i++
		}
	}
	return i
}

// skipValue returns the index just after the value that starts at b[i] (no leading space).
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' &&
			b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}

// member returns the span of the value of the last member named key in the object at b[i]
// (duplicate keys: the last one wins, as Java JSON libraries and encoding/json do).
func member(b []byte, i int, key string) (start, end int, found bool) {
	i = skipWS(b, i+1) // past '{'
	for i < len(b) && b[i] != '}' {
		ks := i
		ke := skipString(b, i)
		i = skipWS(b, ke)
		i = skipWS(b, i+1) // past ':'
		ve := skipValue(b, i)
		if keyEquals(b[ks:ke], key) {
			start, end, found = i, ve, true
		}
		i = skipWS(b, ve)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	return start, end, found
}

// element returns the span of element n of the array at b[i].
func element(b []byte, i int, n int) (start, end int, found bool) {
	i = skipWS(b, i+1) // past '['
	for k := 0; i < len(b) && b[i] != ']'; k++ {
		ve := skipValue(b, i)
		if k == n {
			return i, ve, true
		}
		i = skipWS(b, ve)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	return 0, 0, false
}

// keyEquals reports whether the quoted JSON string raw decodes to key.
func keyEquals(raw []byte, key string) bool {
	inner := raw[1 : len(raw)-1]
	if plain(inner) {
		return string(inner) == key // no allocation: the compiler compares in place
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return false
	}
	return s == key
}

// plain reports whether a JSON string's contents decode to themselves: no escapes, and valid
// UTF-8 (encoding/json turns invalid bytes into U+FFFD, and so must we).
func plain(inner []byte) bool {
	return bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner)
}

// stringify renders the value b[start:end] as API Gateway stringifies a selection result:
// strings without quotes, numbers as written, true/false, null as "", and containers in the
// Java toString form AWS shows in its docs ("[item1, item2]", objects as "{a=1, b=x}").
func stringify(b []byte, start, end int) string {
	v := b[start:end]
	switch v[0] {
	case '"':
		if inner := v[1 : len(v)-1]; plain(inner) {
			return string(inner)
		}
		var s string
		_ = json.Unmarshal(v, &s)
		return s
	case 'n':
		return ""
	case '{', '[':
		var sb strings.Builder
		writeJavaish(&sb, v, 0)
		return sb.String()
	default:
		return string(v)
	}
}

// writeJavaish writes the value at v[i] in Java toString form and returns the index after it.
func writeJavaish(sb *strings.Builder, v []byte, i int) int {
	switch v[i] {
	case '{':
		sb.WriteByte('{')
		i = skipWS(v, i+1)
		first := true
		for i < len(v) && v[i] != '}' {
			if !first {
				sb.WriteString(", ")
			}
			first = false
			ke := skipString(v, i)
			sb.WriteString(stringify(v, i, ke))
			sb.WriteByte('=')
			i = skipWS(v, ke)
			i = skipWS(v, i+1)
			i = skipWS(v, writeJavaish(sb, v, i))
			if i < len(v) && v[i] == ',' {
				i = skipWS(v, i+1)
			}
		}
		sb.WriteByte('}')
		return i + 1
	case '[':
		sb.WriteByte('[')
		i = skipWS(v, i+1)
		first := true
		for i < len(v) && v[i] != ']' {
			if !first {
				sb.WriteString(", ")
			}
			first = false
			i = skipWS(v, writeJavaish(sb, v, i))
			if i < len(v) && v[i] == ',' {
				i = skipWS(v, i+1)
			}
		}
		sb.WriteByte(']')
		return i + 1
	default:
		end := skipValue(v, i)
		if v[i] == 'n' {
			sb.WriteString("null") // inside a container Java prints null
		} else {
			sb.WriteString(stringify(v, i, end))
		}
		return end
	}
}
