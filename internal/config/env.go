package config

import (
	"fmt"
	"strings"
)

// Environment expansion. Only ${NAME} and ${NAME:-default} are expanded, NAME being
// [A-Za-z_][A-Za-z0-9_]*. Everything else that starts with $ is left alone, because AWS's own
// vocabulary is full of dollars: $request.body.action, $default, $context.connectionId, and
// ${request.body.x} / ${stageVariables.x} / ${integration.response.statuscode} (which contain
// dots, so they are never environment names). $${ is a literal ${.
//
// Expansion runs on scalar values after YAML parsing, so line numbers stay right and a value
// from the environment can never inject YAML structure.

// lookupFunc is os.LookupEnv in production; tests pass their own.
type lookupFunc func(string) (string, bool)

// expandEnv expands s. The error says which variable is missing and how to fix it.
func expandEnv(s string, lookup lookupFunc) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(s[i])
			i++
			continue
		}
		ref, end, ok, err := envRef(s, i)
		if err != nil {
			return "", err
		}
		if !ok {
			b.WriteString("${")
			i += 2
			continue
		}
		v, set := lookup(ref.name)
		switch {
		case set && (v != "" || !ref.hasDefault):
			b.WriteString(v)
		case ref.hasDefault:
			b.WriteString(ref.def)
		default:
			return "", fmt.Errorf("environment variable %s is not set; set it, give a default with ${%s:-value}, or write $${%s} for a literal ${%s}",
				ref.name, ref.name, ref.name, ref.name)
		}
		i = end
	}
	return b.String(), nil
}

type envReference struct {
	name       string
	hasDefault bool
	def        string
}

// envRef reads a reference at s[i:] (which starts with "${"). ok is false when it is not an
// environment reference (e.g. ${request.body.x}); end is the index after the closing brace.
func envRef(s string, i int) (ref envReference, end int, ok bool, err error) {
	j := i + 2
	k := j
	for k < len(s) && isNameByte(s[k], k == j) {
		k++
	}
	if k == j || k >= len(s) {
		return ref, 0, false, nil
	}
	ref.name = s[j:k]
	switch {
	case s[k] == '}':
		return ref, k + 1, true, nil
	case strings.HasPrefix(s[k:], ":-"):
		close := strings.IndexByte(s[k+2:], '}')
		if close < 0 {
			return ref, 0, false, fmt.Errorf("${%s:-... has no closing }; write ${%s:-default}", ref.name, ref.name)
		}
		ref.hasDefault, ref.def = true, s[k+2:k+2+close]
		return ref, k + 2 + close + 1, true, nil
	case s[k] == ':':
		return ref, 0, false, fmt.Errorf("${%s%s is not supported; write ${%s} or ${%s:-default} (or $${ for a literal ${)",
			ref.name, clip(s[k:], 3), ref.name, ref.name)
	}
	return ref, 0, false, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || !first && c >= '0' && c <= '9'
}

// escapeEnv is the inverse of expandEnv: expandEnv(escapeEnv(s)) == s for every s. It escapes
// only where needed, so ${request.body.x} is written as is.
func escapeEnv(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.HasPrefix(s[i:], "${") && needsEscape(s, i) {
			b.WriteString("$${")
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// needsEscape reports whether the "${" at s[i:] would be changed (or refused) by expandEnv:
// it follows a '$' (so it would read as "$${"), or it is, or looks like, an environment reference.
func needsEscape(s string, i int) bool {
	if i > 0 && s[i-1] == '$' {
		return true
	}
	_, _, ok, err := envRef(s, i)
	return ok || err != nil
}
