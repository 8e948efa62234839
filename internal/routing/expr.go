// Package routing compiles and evaluates API Gateway selection expressions: the route selection
// expression (`$request.body.action`), template selection expressions (`\$default`,
// `${request.body.type}`) and the integration-response selection variables
// (`${integration.response.statuscode}`).
//
// An expression is literal text mixed with variables. A variable starts with `$`; braces mark
// where it ends (`${request.body.version}-beta`). `\$` is a literal dollar sign, so `\$default`
// is the literal key `$default`. The part after `request.body` is a small JSONPath: `.name`,
// `['name']`, `["name"]` and `[index]` steps.
//
// A compiled *Expr is immutable and safe for concurrent use.
package routing

import (
	"fmt"
	"strconv"
	"strings"
)

// Expr is a compiled selection expression.
type Expr struct {
	src   string
	parts []part
	// body is true when some variable reads request.body, so Eval must look at the message.
	body bool
}

// part is either literal text (v == nil) or a variable.
type part struct {
	lit string
	v   *variable
}

// variable is one `$name` or `${name}` reference.
type variable struct {
	name string // without "$" and braces, e.g. "request.body.action"
	// body variables: the JSONPath steps after request.body (empty = the whole body).
	isBody bool
	path   []step
}

// step is one JSONPath step: an object key or an array index.
type step struct {
	key     string
	index   int
	isIndex bool
}

// String returns the source text the expression was compiled from.
func (e *Expr) String() string { return e.src }

// Compile parses a selection expression. The error says where the problem is and what to write
// instead.
func Compile(expr string) (*Expr, error) {
	e := &Expr{src: expr}
	// AWS accepts a bare `$default` as the route response selection expression; treat it as the
	// literal key rather than as an unknown variable.
	if expr == "$default" {
		e.parts = []part{{lit: "$default"}}
		return e, nil
	}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			e.parts = append(e.parts, part{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '\\' && i+1 < len(expr) && expr[i+1] == '$':
			lit.WriteByte('$')
			i += 2
		case c == '$':
			name, next, err := scanVariable(expr, i)
			if err != nil {
				return nil, fmt.Errorf("selection expression %q: %w", expr, err)
			}
			v, err := parseVariable(name)
			if err != nil {
				return nil, fmt.Errorf("selection expression %q: %w", expr, err)
			}
			flush()
			e.parts = append(e.parts, part{v: v})
			e.body = e.body || v.isBody
			i = next
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return e, nil
}

// scanVariable reads the variable that starts with the `$` at expr[i]. It returns the name
// without `$`/braces and the index just after the variable.
func scanVariable(expr string, i int) (name string, next int, err error) {
	j := i + 1
	if j < len(expr) && expr[j] == '{' {
		end, err := scanUntilBrace(expr, j+1)
		if err != nil {
			return "", 0, fmt.Errorf("at offset %d: %w", i, err)
		}
		name = expr[j+1 : end]
		if name == "" {
			return "", 0, fmt.Errorf("at offset %d: empty ${}: write a variable such as ${request.body.action}", i)
		}
		return name, end + 1, nil
	}
	// Unbraced: the variable runs over name characters, dots and bracket steps.
	k := j
	for k < len(expr) {
		c := expr[k]
		if isNameByte(c) || c == '.' || c == '*' {
			k++
			continue
		}
		if c == '[' {
			end, err := scanBracket(expr, k)
			if err != nil {
				return "", 0, fmt.Errorf("at offset %d: %w", k, err)
			}
			k = end
			continue
		}
		break
	}
	if k == j {
		return "", 0, fmt.Errorf(`at offset %d: "$" is not followed by a variable name: write \$ for a literal dollar sign, or a variable such as $request.body.action`, i)
	}
	return expr[j:k], k, nil
}

// scanUntilBrace returns the index of the `}` that closes a `${`, skipping quoted bracket keys.
func scanUntilBrace(expr string, i int) (int, error) {
	for i < len(expr) {
		switch expr[i] {
		case '}':
			return i, nil
		case '[':
			end, err := scanBracket(expr, i)
			if err != nil {
				return 0, err
			}
			i = end
		default:
			i++
		}
	}
	return 0, fmt.Errorf(`"${" has no closing "}": write ${request.body.action}`)
}

// scanBracket returns the index just after the `]` closing the `[` at expr[i], honouring quotes.
func scanBracket(expr string, i int) (int, error) {
	j := i + 1
	if j < len(expr) && (expr[j] == '\'' || expr[j] == '"') {
		q := expr[j]
		j++
		for j < len(expr) && expr[j] != q {
			if expr[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(expr) {
			return 0, fmt.Errorf("unterminated quoted key in %q: close it with %c]", expr[i:], q)
		}
		j++ // closing quote
		if j >= len(expr) || expr[j] != ']' {
			return 0, fmt.Errorf("quoted key in %q must be followed by ]", expr[i:])
		}
		return j + 1, nil
	}
	for j < len(expr) && expr[j] != ']' {
		j++
	}
	if j >= len(expr) {
		return 0, fmt.Errorf(`unterminated "[" in %q: write ['key'] or [0]`, expr[i:])
	}
	return j + 1, nil
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Variables other than request.body that an expression may name. They are resolved by the
// caller through EvalWith.
var (
	exactVars  = []string{"integration.response.statuscode"}
	prefixVars = []string{
		"request.header.", "request.querystring.", "request.multivalueheader.", "request.multivaluequerystring.",
		"integration.response.header.", "integration.response.multivalueheader.", "integration.response.body",
		"context.", "stageVariables.",
	}
)

const supportedVars = "$request.body.PATH, ${request.body.PATH}, $request.header.NAME, $request.querystring.NAME, " +
	"$integration.response.statuscode, $integration.response.header.NAME, $integration.response.multivalueheader.NAME, " +
	"$integration.response.body.PATH, $context.NAME, $stageVariables.NAME"

func parseVariable(name string) (*variable, error) {
	if name == "request.body" || strings.HasPrefix(name, "request.body.") || strings.HasPrefix(name, "request.body[") {
		path, err := parsePath(name[len("request.body"):])
		if err != nil {
			return nil, fmt.Errorf("$%s: %w", name, err)
		}
		return &variable{name: name, isBody: true, path: path}, nil
	}
	for _, v := range exactVars {
		if name == v {
			return &variable{name: name}, nil
		}
	}
	for _, p := range prefixVars {
		if strings.HasPrefix(name, p) && (len(name) > len(p) || strings.HasSuffix(p, "body")) {
			return &variable{name: name}, nil
		}
	}
	if name == "default" {
		return nil, fmt.Errorf(`unknown variable $default: write \$default for the literal key "$default"`)
	}
	return nil, fmt.Errorf("unknown variable $%s: use one of %s", name, supportedVars)
}

// parsePath parses the JSONPath steps that follow request.body.
func parsePath(p string) ([]step, error) {
	var steps []step
	for i := 0; i < len(p); {
		switch p[i] {
		case '.':
			j := i + 1
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			key := p[i+1 : j]
			if key == "" {
				return nil, fmt.Errorf(`empty key at offset %d: write .name or ['name']`, i)
			}
			if key == "*" {
				return nil, fmt.Errorf("wildcard .* is not supported: name one key, such as .action")
			}
			steps = append(steps, step{key: key})
			i = j
		case '[':
			end, err := scanBracket(p, i)
			if err != nil {
				return nil, err
			}
			inner := p[i+1 : end-1]
			switch {
			case len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"'):
				steps = append(steps, step{key: unquoteKey(inner[1 : len(inner)-1])})
			default:
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return nil, fmt.Errorf(`bad step [%s]: write ['key'] for a key or [0] for an array index`, inner)
				}
				steps = append(steps, step{index: n, isIndex: true})
			}
			i = end
		default:
			return nil, fmt.Errorf(`unexpected %q at offset %d: steps start with "." or "["`, p[i], i)
		}
	}
	return steps, nil
}

// unquoteKey removes backslash escapes from a quoted bracket key.
func unquoteKey(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
