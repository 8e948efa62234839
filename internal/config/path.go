package config

import (
	"strconv"
	"strings"
)

// Key paths name a place in the config the way a user reads it: "integrations.app.uri",
// "management.credentials[0].accessKeyId". A map key that is not a plain word (it has a dot, a
// space, a bracket...) is written quoted in brackets:
// `integrations.app.requestParameters["integration.request.header.connectionId"]`.

// Path joins key path elements: strings are keys, ints are list indexes.
// Path("integrations", "app", "uri") == "integrations.app.uri".
func Path(elems ...any) string {
	p := ""
	for _, e := range elems {
		switch e := e.(type) {
		case int:
			p = indexPath(p, e)
		case string:
			p = keyPath(p, e)
		case rawPath:
			p += string(e)
		}
	}
	return p
}

// join extends the path base with more elements (see Path).
func join(base string, elems ...any) string {
	return Path(append([]any{rawPath(base)}, elems...)...)
}

// rawPath is a path already built, which Path appends to unchanged.
type rawPath string

func keyPath(parent, key string) string {
	if !plainKey(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(isNameByte(c, false) || c == '$' || c == '-') {
			return false
		}
	}
	return true
}

// parentPath strips the last element of a path ("" for a top-level key).
func parentPath(p string) string {
	if p == "" {
		return ""
	}
	if strings.HasSuffix(p, "]") {
		// Find the '[' that opens the last element, skipping over a quoted key.
		if strings.HasSuffix(p, `"]`) {
			for i := len(p) - 3; i >= 0; i-- {
				if p[i] == '[' && i+1 < len(p) && p[i+1] == '"' {
					if _, err := strconv.Unquote(p[i+1 : len(p)-1]); err == nil {
						return p[:i]
					}
				}
			}
			return ""
		}
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
		return ""
	}
	i := strings.LastIndexAny(p, ".]")
	if i < 0 {
		return ""
	}
	if p[i] == ']' {
		return p[:i+1]
	}
	return p[:i]
}

// under reports whether path p is anc or inside it.
func under(p, anc string) bool {
	if anc == "" {
		return true
	}
	if !strings.HasPrefix(p, anc) {
		return false
	}
	rest := p[len(anc):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}
