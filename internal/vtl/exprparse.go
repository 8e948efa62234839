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
		end := strings.IndexByte(p.src[p.pos+1:], '\'')
		if end < 0 {
			return nil, p.errAt(start, "string is not closed: add '")
		}
		p.pos += end + 2
		return litExpr{p.src[start+1 : p.pos-1]}, nil
	case c == '"':
		return p.parseDoubleQuoted()
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
		return p.parseList()
	case c == '{':
		return p.parseMap()
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

// parseDoubleQuoted parses "..." whose references are interpolated when evaluated. Velocity 1.7
// processes no backslash escapes in string literals: "\\'" is the three characters \\'.
func (p *parser) parseDoubleQuoted() (expr, error) {
	start := p.pos
	end := strings.IndexByte(p.src[p.pos+1:], '"')
	if end < 0 {
		return nil, p.errAt(start, `string is not closed: add "`)
	}
	inner := p.src[start+1 : start+1+end]
	p.pos = start + end + 2
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
		return nil, p.errAt(start+1+offsetOf(inner, se.Line, se.Col), "in string: %s", se.Msg)
	}
	return strExpr{nodes}, nil
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
