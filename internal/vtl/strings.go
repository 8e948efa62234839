package vtl

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// stringMethod implements the java.lang.String methods templates use. Indexes count
// characters (runes); Java counts UTF-16 units, which differs only outside the BMP.
func (r *renderer) stringMethod(s, name string, args []any) (any, error) {
	// String methods cost time in proportion to the string: charge it, so a loop over a big
	// string stays bounded.
	if name != "length" && name != "isEmpty" && name != "equals" {
		if err := r.charge(len(s)); err != nil {
			return nil, err
		}
	}
	return r.stringMethodFree(s, name, args), nil
}

func (r *renderer) stringMethodFree(s, name string, args []any) any {
	str := func(i int) (string, bool) {
		if i >= len(args) {
			return "", false
		}
		x, ok := args[i].(string)
		return x, ok
	}
	switch name {
	case "length":
		return int64(utf8.RuneCountInString(s))
	case "isEmpty":
		return s == ""
	case "toLowerCase":
		return strings.ToLower(s)
	case "toUpperCase":
		return strings.ToUpper(s)
	case "trim":
		return strings.TrimFunc(s, func(c rune) bool { return c <= ' ' })
	case "contains":
		if a, ok := toString(argOr(args, 0)); ok && len(args) == 1 {
			return strings.Contains(s, a)
		}
	case "startsWith":
		if a, ok := str(0); ok && len(args) == 1 {
			return strings.HasPrefix(s, a)
		}
	case "endsWith":
		if a, ok := str(0); ok && len(args) == 1 {
			return strings.HasSuffix(s, a)
		}
	case "equalsIgnoreCase":
		if a, ok := str(0); ok && len(args) == 1 {
			return strings.EqualFold(s, a)
		}
	case "equals":
		if len(args) == 1 {
			a, ok := args[0].(string)
			return ok && a == s
		}
	case "indexOf", "lastIndexOf":
		if a, ok := str(0); ok && len(args) == 1 {
			var i int
			if name == "indexOf" {
				i = strings.Index(s, a)
			} else {
				i = strings.LastIndex(s, a)
			}
			if i < 0 {
				return int64(-1)
			}
			return int64(utf8.RuneCountInString(s[:i]))
		}
	case "charAt":
		if len(args) == 1 {
			if i, ok := toInt(args[0]); ok {
				if off := runeIndex(s, i); off >= 0 && off < len(s) {
					_, size := utf8.DecodeRuneInString(s[off:])
					return s[off : off+size]
				}
			}
		}
	case "substring":
		return substring(s, args)
	case "concat":
		if a, ok := str(0); ok && len(args) == 1 {
			return s + a
		}
	case "replace":
		if len(args) == 2 {
			a, ok1 := toString(args[0])
			b, ok2 := toString(args[1])
			if ok1 && ok2 {
				return strings.ReplaceAll(s, a, b)
			}
		}
	case "replaceAll", "replaceFirst":
		pat, ok1 := str(0)
		repl, ok2 := str(1)
		if !ok1 || !ok2 || len(args) != 2 {
			return nil
		}
		re := r.t.regexp(pat)
		goRepl, ok := javaReplacement(repl)
		if re == nil || !ok {
			return nil
		}
		if name == "replaceAll" {
			return re.ReplaceAllString(s, goRepl)
		}
		loc := re.FindStringSubmatchIndex(s)
		if loc == nil {
			return s
		}
		return s[:loc[0]] + string(re.ExpandString(nil, goRepl, s, loc)) + s[loc[1]:]
	case "matches":
		if pat, ok := str(0); ok && len(args) == 1 {
			if re := r.t.regexp("^(?:" + pat + ")$"); re != nil {
				return re.MatchString(s)
			}
		}
	case "split":
		if pat, ok := str(0); ok && len(args) == 1 {
			re := r.t.regexp(pat)
			if re == nil {
				return nil
			}
			parts := re.Split(s, -1)
			for len(parts) > 0 && parts[len(parts)-1] == "" { // Java drops trailing empties
				parts = parts[:len(parts)-1]
			}
			l := make([]any, len(parts))
			for i, p := range parts {
				l[i] = p
			}
			return &vlist{items: l}
		}
	}
	return nil
}

func argOr(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}

func substring(s string, args []any) any {
	if len(args) < 1 || len(args) > 2 {
		return nil
	}
	b, ok := toInt(args[0])
	if !ok {
		return nil
	}
	bo := runeIndex(s, b)
	if bo < 0 || bo > len(s) {
		return nil
	}
	if len(args) == 1 {
		return s[bo:]
	}
	e, ok := toInt(args[1])
	if !ok || e < b {
		return nil
	}
	eo := runeIndex(s, e)
	if eo < 0 || eo > len(s) {
		return nil
	}
	return s[bo:eo]
}

// javaReplacement converts a Java Matcher replacement ($1, \$ for a literal $) into Go's
// Expand syntax (${1}, $$). A bad $ reference gives false, as Java throws.
func javaReplacement(repl string) (string, bool) {
	if !strings.ContainsAny(repl, `$\`) {
		return repl, true
	}
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch c {
		case '\\':
			i++
			if i >= len(repl) {
				return "", false
			}
			if repl[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(repl[i])
			}
		case '$':
			j := i + 1
			if j < len(repl) && repl[j] == '{' {
				end := strings.IndexByte(repl[j:], '}')
				if end < 0 {
					return "", false
				}
				b.WriteString(repl[i : j+end+1])
				i = j + end
				continue
			}
			for j < len(repl) && repl[j] >= '0' && repl[j] <= '9' {
				j++
			}
			if j == i+1 {
				return "", false
			}
			b.WriteString("${" + repl[i+1:j] + "}")
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// regexpEntry is a cached compile result (re nil when the pattern is not valid RE2).
type regexpEntry struct{ re *regexp.Regexp }

const maxCachedRegexps = 64

// regexp compiles a Java regex pattern (the RE2-compatible subset), caching the result on the
// template: templates are rendered many times with the same literal patterns.
func (t *Template) regexp(pat string) *regexp.Regexp {
	t.reMu.Lock()
	e, ok := t.res[pat]
	t.reMu.Unlock()
	if ok {
		return e.re
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		re = nil
	}
	t.reMu.Lock()
	if t.res == nil {
		t.res = map[string]*regexpEntry{}
	}
	if len(t.res) < maxCachedRegexps {
		t.res[pat] = &regexpEntry{re}
	}
	t.reMu.Unlock()
	return re
}
