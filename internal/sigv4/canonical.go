package sigv4

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// param is one decoded query parameter.
type param struct{ name, value string }

// parseQuery decodes a raw query string the way the AWS SDKs read it before signing: pairs
// split on '&', '+' read as a space, empty pairs skipped. A bad %-escape is an error.
func parseQuery(raw string) ([]param, error) {
	if raw == "" {
		return nil, nil
	}
	ps := make([]param, 0, strings.Count(raw, "&")+1)
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, err := unescapeQuery(k)
		if err != nil {
			return nil, err
		}
		value, err := unescapeQuery(v)
		if err != nil {
			return nil, err
		}
		ps = append(ps, param{name, value})
	}
	return ps, nil
}

// unescapeQuery avoids the allocation of url.QueryUnescape for the common plain string.
func unescapeQuery(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// appendEscaped writes s with every byte outside A-Za-z0-9-_.~ as %XX (upper-case hex), '/'
// kept when keepSlash: the SigV4 URI encoding.
func appendEscaped(dst []byte, s string, keepSlash bool) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && keepSlash {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

// wirePath is the request path exactly as it arrived, still escaped. RequestURI is the
// truest copy (it survives http.StripPrefix and Go's re-escaping of odd bytes), in origin
// form ("/dev/x?q") or absolute form ("http://host/dev/x?q"). Requests built in-process have
// none, so they fall back to URL.EscapedPath.
func wirePath(r *http.Request) string {
	u := r.RequestURI
	if u != "" && u[0] != '/' {
		if i := strings.Index(u, "://"); i >= 0 {
			u = u[i+3:]
			if j := strings.IndexAny(u, "/?"); j >= 0 && u[j] == '/' {
				u = u[j:]
			} else {
				u = "/"
			}
		} else {
			u = ""
		}
	}
	if u != "" {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		return u
	}
	if r.URL == nil {
		return "/"
	}
	return r.URL.EscapedPath()
}

// appendCanonicalRequest writes the SigV4 canonical request: method, canonical URI (the wire
// path escaped again), canonical query, canonical headers, signed headers and payload hash,
// joined by '\n'.
func appendCanonicalRequest(dst []byte, r *http.Request, a *auth, query []param, payloadHash []byte) []byte {
	dst = append(dst, r.Method...)
	dst = append(dst, '\n')

	dst = appendCanonicalURI(dst, wirePath(r))
	dst = append(dst, '\n')

	dst = appendCanonicalQuery(dst, query, a.presigned)
	dst = append(dst, '\n')

	for name := range strings.SplitSeq(a.signedHeaders, ";") {
		dst = append(dst, name...)
		dst = append(dst, ':')
		dst = appendHeaderValue(dst, r, name)
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	dst = append(dst, a.signedHeaders...)
	dst = append(dst, '\n')
	dst = append(dst, payloadHash...)
	return dst
}

// appendCanonicalURI writes the escaped wire path, normalised by NormalizePath, escaped again
// ('/' kept), as every SigV4 signer does for services other than S3:
// "/prod/@connections/abc%3D" becomes "/prod/%40connections/abc%253D". An empty path is "/".
func appendCanonicalURI(dst []byte, escapedPath string) []byte {
	if escapedPath == "" {
		return append(dst, '/')
	}
	return appendEscaped(dst, NormalizePath(escapedPath), true)
}

// NormalizePath returns an escaped request path as SigV4 signs it for services other than S3:
// each run of '/' becomes one ("/dev//@connections/x" is "/dev/@connections/x"; a trailing
// '/' stays). AWS's signing documentation asks for redundant path components to be removed,
// and the signers that call execute-api do so: the JavaScript SDK v3 (@smithy/signature-v4
// getCanonicalPath), which sends "/dev//@connections/{id}" when its endpoint ends in "/", and
// botocore (utils.remove_dot_segments: "AWS services require consecutive slashes to be
// removed"). Dot segments are left alone: no SDK sends them to execute-api, and the management
// API routes on this same path (management.Handler), so what was signed is what is served.
// It returns p itself, without allocating, when there is nothing to collapse.
func NormalizePath(p string) string {
	if !strings.Contains(p, "//") {
		return p
	}
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b = append(b, p[i])
	}
	return string(b)
}

// appendCanonicalQuery writes every parameter (without X-Amz-Signature when presigned)
// URI-encoded, sorted by encoded name then encoded value, as name=value joined by '&'.
func appendCanonicalQuery(dst []byte, query []param, presigned bool) []byte {
	if len(query) == 0 {
		return dst
	}
	enc := make([]param, 0, len(query))
	var buf []byte
	for _, p := range query {
		if presigned && p.name == qSignature {
			continue
		}
		buf = appendEscaped(buf[:0], p.name, false)
		name := string(buf)
		buf = appendEscaped(buf[:0], p.value, false)
		enc = append(enc, param{name, string(buf)})
	}
	slices.SortFunc(enc, func(x, y param) int {
		if c := cmp.Compare(x.name, y.name); c != 0 {
			return c
		}
		return cmp.Compare(x.value, y.value)
	})
	for i, p := range enc {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p.name...)
		dst = append(dst, '=')
		dst = append(dst, p.value...)
	}
	return dst
}

// appendHeaderValue writes the canonical value of one signed header: every value trimmed,
// inner runs of spaces collapsed to one, several values joined by ','. host comes from
// r.Host (Go moves it out of the header map); content-length from r.ContentLength when a
// request built in-process has no header for it.
func appendHeaderValue(dst []byte, r *http.Request, name string) []byte {
	switch name {
	case "host":
		h := r.Host
		if h == "" && r.URL != nil {
			h = r.URL.Host
		}
		return appendTrimmed(dst, h)
	case "content-length":
		if _, ok := r.Header["Content-Length"]; !ok && r.ContentLength >= 0 {
			return strconv.AppendInt(dst, r.ContentLength, 10)
		}
	}
	for i, v := range headerValues(r.Header, name) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendTrimmed(dst, v)
	}
	return dst
}

// appendTrimmed writes v without leading or trailing spaces and with inner runs of spaces
// collapsed to one, as the SigV4 signers do.
func appendTrimmed(dst []byte, v string) []byte {
	v = strings.Trim(v, " ")
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}

// headerValues is h.Values(name) for a lower-case name without the allocation of
// canonicalising it: names up to 64 bytes are canonicalised on the stack. Keys Go could not
// canonicalise (it stores those as sent) are found by the fallback.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) {
		return h.Values(name)
	}
	k := buf[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		k[i] = c
		upper = c == '-'
	}
	if vs, ok := h[string(k)]; ok {
		return vs
	}
	return h.Values(name)
}
