package vtl

import (
	"strconv"
	"strings"
)

// Expression grammar, loosest first:
//   or:   and (("||" | "or") and)*
//   and:  eq (("&&" | "and") eq)*
//   eq:   rel (("==" | "!=" | "eq" | "ne") rel)*
//   rel:  add (("<" | "<=" | ">" | ">=" | "lt" | "le" | "gt" | "ge") add)*
//   add:  mul (("+" | "-") mul)*
//   mul:  unary (("*" | "/" | "%") unary)*
//   unary: ("!" | "not" | "-") unary | primary
//   primary: reference | string | number | true | false | null | [list] | [a..b] | {map} | (expr)

func (p *parser) parseExpr() (expr, error) {
	if err := p.enter(p.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseBinary(0)
}

var levels = [][]string{
	{"||", "or"},
	{"&&", "and"},
	{"==", "!=", "eq", "ne"},
	{"<=", ">=", "<", ">", "le", "ge", "lt", "gt"},
	{"+", "-"},
	{"*", "/", "%"},
}

// canonical maps word operators to their symbols.
var canonical = map[string]string{"or": "||", "and": "&&", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}

func (p *parser) parseBinary(level int) (expr, error) {
	if level == len(levels) {
		return p.parseUnary()
	}
	l, err := p.parseBinary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		op := p.matchOp(levels[level])
		if op == "" {
			return l, nil
		}
		r, err := p.parseBinary(level + 1)
		if err != nil {
			return nil, err
		}
		if c, ok := canonical[op]; ok {
			op = c
		}
		l = binExpr{op: op, l: l, r: r}
	}
}

// matchOp consumes one of ops at p.pos. Word operators must stand alone; "=" alone is not "==".
func (p *parser) matchOp(ops []string) string {
	rest := p.src[p.pos:]
	for _, op := range ops {
		if !strings.HasPrefix(rest, op) {
			continue
		}
		if isLetter(op[0]) && len(rest) > len(op) && isIdentByte(rest[len(op)]) {
			continue
		}
		p.pos += len(op)
		return op
	}
	return ""
}

func (p *parser) parseUnary() (expr, error) {
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '!' && !strings.HasPrefix(p.src[p.pos:], "!=") {
		p.pos++
		return p.unary("!")
	}
	if p.matchOp([]string{"not"}) != "" {
		return p.unary("!")
	}
	if p.pos < len(p.src) && p.src[p.pos] == '-' {
		p.pos++
		return p.unary("-")
	}
	return p.parsePrimary()
}

func (p *parser) unary(op string) (expr, error) {
	if err := p.enter(p.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return unExpr{op: op, x: x}, nil
}

func (p *parser) parsePrimary() (expr, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, p.errAt(p.pos, "expected a value (a $reference, 'string', number, true, false, [list] or {map}) but the template ended")
	}
	start := p.pos
	c := p.src[p.pos]
	switch {
	case c == '$':
		ref, err := p.parseRef()
		if err != nil {
			return nil, err
		}
		if ref == nil {
			return nil, p.errAt(start, "expected a variable name after $")
		}
		return ref, nil
	case c == '\'':
		raw, ok := p.quoted()
		if !ok {
			return nil, p.errAt(start, "string is not closed: add '")
		}
		return p.literalSteps(litExpr{unquote(raw, '\'')})
	case c == '"':
		x, err := p.parseDoubleQuoted()
		if err != nil {
			return nil, err
		}
		return p.literalSteps(x)
	case c >= '0' && c <= '9':
		return p.parseNumber()
	case c == '(':
		p.pos++
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(')', "( is not closed: add )"); err != nil {
			return nil, err
		}
		return x, nil
	case c == '[':
		x, err := p.parseList()
		if err != nil {
			return nil, err
		}
		return p.literalSteps(x)
	case c == '{':
		x, err := p.parseMap()
		if err != nil {
			return nil, err
		}
		return p.literalSteps(x)
	case isLetter(c):
		word := p.ident()
		switch word {
		case "true":
			return litExpr{true}, nil
		case "false":
			return litExpr{false}, nil
		case "null":
			return litExpr{nil}, nil
		}
		p.pos = start
		return nil, p.errAt(start, "unexpected word %q: variables start with $ (write $%s), strings are quoted", word, word)
	}
	return nil, p.errAt(start, "unexpected %q: expected a value (a $reference, 'string', number, true, false, [list] or {map})", c)
}

// literalSteps parses method, property and index steps directly after a string, list or map
// literal ("a,b".split(","), [1, 2].size()). Velocity 1.7 allows steps only after a
// $reference; accepting them here changes no template that Velocity accepts.
func (p *parser) literalSteps(x expr) (expr, error) {
	ref := &refExpr{}
	if err := p.parseSteps(ref); err != nil {
		return nil, err
	}
	if len(ref.steps) == 0 {
		return x, nil
	}
	return chainExpr{base: x, steps: ref.steps}, nil
}

// parseDoubleQuoted parses "..." whose references are interpolated when evaluated. Velocity 1.7
// processes no backslash escapes in string literals: "\\'" is the three characters \\'.
func (p *parser) parseDoubleQuoted() (expr, error) {
	start := p.pos
	raw, ok := p.quoted()
	if !ok {
		return nil, p.errAt(start, `string is not closed: add "`)
	}
	inner := unquote(raw, '"')
	if !strings.ContainsAny(inner, "$#") {
		return litExpr{inner}, nil
	}
	sub := &parser{src: inner, depth: p.depth}
	nodes, term, err := sub.parseNodes(0)
	if err == nil && term != "" {
		err = sub.errAt(sub.termPos, "#%s without a matching #if or #foreach inside a string", term)
	}
	if err != nil {
		// Report the position in the whole template.
		se := err.(*SyntaxError)
		off := rawOffset(raw, '"', offsetOf(inner, se.Line, se.Col))
		return nil, p.errAt(start+1+off, "in string: %s", se.Msg)
	}
	return strExpr{nodes}, nil
}

// quoted reads a string literal whose opening quote is at p.pos and returns the text between
// the quotes, still escaped. A doubled quote (” or "") stands for one quote character, as in
// Velocity 1.7; there are no backslash escapes. ok is false when the string is not closed.
func (p *parser) quoted() (raw string, ok bool) {
	q := p.src[p.pos]
	for i := p.pos + 1; i < len(p.src); i++ {
		if p.src[i] != q {
			continue
		}
		if i+1 < len(p.src) && p.src[i+1] == q {
			i++
			continue
		}
		raw = p.src[p.pos+1 : i]
		p.pos = i + 1
		return raw, true
	}
	return "", false
}

// unquote turns each doubled quote q in raw into one.
func unquote(raw string, q byte) string {
	double := string([]byte{q, q})
	if !strings.Contains(raw, double) {
		return raw
	}
	return strings.ReplaceAll(raw, double, double[:1])
}

// rawOffset maps a byte offset in unquote(raw, q) back to the offset in raw.
func rawOffset(raw string, q byte, off int) int {
	i := 0
	for n := 0; n < off && i < len(raw); n++ {
		if raw[i] == q {
			i++ // the doubled quote's second half
		}
		i++
	}
	return min(i, len(raw))
}

func offsetOf(s string, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(s[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	return min(off+col-1, len(s))
}

func (p *parser) parseNumber() (expr, error) {
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		p.pos++
	}
	// A '.' followed by a digit makes a float; "1..3" is a range.
	if p.pos+1 < len(p.src) && p.src[p.pos] == '.' && p.src[p.pos+1] >= '0' && p.src[p.pos+1] <= '9' {
		p.pos++
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		f, err := strconv.ParseFloat(p.src[start:p.pos], 64)
		if err != nil {
			return nil, p.errAt(start, "bad number %q", p.src[start:p.pos])
		}
		return litExpr{f}, nil
	}
	n, err := strconv.ParseInt(p.src[start:p.pos], 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(p.src[start:p.pos], 64)
		if ferr != nil {
			return nil, p.errAt(start, "bad number %q", p.src[start:p.pos])
		}
		return litExpr{f}, nil
	}
	return litExpr{n}, nil
}

func (p *parser) parseList() (expr, error) {
	open := p.pos
	p.pos++
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return listExpr{}, nil
	}
	first, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if strings.HasPrefix(p.src[p.pos:], "..") {
		p.pos += 2
		to, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(']', "range [a..b] is not closed: add ]"); err != nil {
			return nil, err
		}
		return rangeExpr{from: first, to: to}, nil
	}
	elems := []expr{first}
	if p.pos < len(p.src) && p.src[p.pos] == ',' {
		p.pos++
		rest, err := p.parseArgs(']', open)
		if err != nil {
			return nil, err
		}
		elems = append(elems, rest...)
		return listExpr{elems}, nil
	}
	if err := p.expect(']', "list [ is not closed: add ]"); err != nil {
		return nil, err
	}
	return listExpr{elems}, nil
}

func (p *parser) parseMap() (expr, error) {
	open := p.pos
	p.pos++
	m := mapExpr{}
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return m, nil
	}
	for {
		k, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(':', "expected : between a map key and its value"); err != nil {
			return nil, err
		}
		v, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		m.keys = append(m.keys, k)
		m.vals = append(m.vals, v)
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.errAt(open, "map { is not closed: add }")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return m, nil
		default:
			return nil, p.errAt(p.pos, "expected , or } in the map opened at %s", p.posString(open))
		}
	}
}
