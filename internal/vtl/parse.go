package vtl

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// MaxTemplateBytes is the largest template Parse accepts (AWS's mapping template limit).
const MaxTemplateBytes = 300 * 1024

// maxNesting bounds how deeply blocks and expressions may nest, so hostile input cannot
// exhaust the stack.
const maxNesting = 200

// Template is a parsed template. It is immutable; Render may run concurrently.
type Template struct {
	src   string
	nodes []node

	reMu sync.Mutex
	res  map[string]*regexpEntry // compiled replaceAll/matches patterns, bounded
}

// Source returns the text the template was parsed from.
func (t *Template) Source() string { return t.src }

// SyntaxError is a template error with the 1-based line and column where it was found.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("template %d:%d: %s", e.Line, e.Col, e.Msg) }

// Parse compiles a template. A syntax error is a *SyntaxError that says what was expected.
func Parse(src string) (*Template, error) {
	if len(src) > MaxTemplateBytes {
		return nil, fmt.Errorf("template is %d bytes; the limit is %d (300 KB, as on AWS)", len(src), MaxTemplateBytes)
	}
	p := &parser{src: src}
	nodes, term, err := p.parseNodes(0)
	if err != nil {
		return nil, err
	}
	if term != "" {
		return nil, p.errAt(p.termPos, "#%s without a matching #if or #foreach: remove it", term)
	}
	return &Template{src: src, nodes: nodes}, nil
}

type parser struct {
	src     string
	pos     int
	termPos int // where the last block terminator (#end, #else, #elseif) started
	depth   int
}

func (p *parser) errAt(pos int, format string, args ...any) error {
	line, col := 1, 1
	for i := 0; i < pos && i < len(p.src); i++ {
		if p.src[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > maxNesting {
		return p.errAt(pos, "nested more than %d levels deep: simplify the template", maxNesting)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parseNodes parses template text until EOF or a block terminator (#end, #else, #elseif),
// which it returns by name. For #elseif p.pos is left just after "#elseif".
func (p *parser) parseNodes(startPos int) ([]node, string, error) {
	if err := p.enter(startPos); err != nil {
		return nil, "", err
	}
	defer p.leave()
	var nodes []node
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			nodes = append(nodes, textNode{text.String()})
			text.Reset()
		}
	}
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '\\' && p.pos+1 < len(p.src) && (p.src[p.pos+1] == '$' || p.src[p.pos+1] == '#'):
			// \$ and \# are a literal $ or #, and what follows is text.
			text.WriteByte(p.src[p.pos+1])
			p.pos += 2
			if p.pos < len(p.src) && p.src[p.pos-1] == '$' && p.src[p.pos] == '!' {
				text.WriteByte('!')
				p.pos++
			}
			if p.pos < len(p.src) && p.src[p.pos] == '{' {
				text.WriteByte('{')
				p.pos++
			}
		case c == '$':
			start := p.pos
			ref, err := p.parseRef()
			if err != nil {
				return nil, "", err
			}
			if ref == nil {
				text.WriteByte('$')
				p.pos = start + 1
				continue
			}
			flush()
			nodes = append(nodes, refNode{ref})
		case c == '#':
			start := p.pos
			n, term, handled, err := p.parseDirective(&text)
			if err != nil {
				return nil, "", err
			}
			if !handled {
				text.WriteByte('#')
				p.pos = start + 1
				continue
			}
			if term != "" {
				flush()
				return nodes, term, nil
			}
			if n != nil {
				flush()
				nodes = append(nodes, n)
			}
		default:
			text.WriteByte(c)
			p.pos++
		}
	}
	flush()
	return nodes, "", nil
}

// directiveName reads a directive name at p.pos (just after '#'), in the plain (#if) or braced
// (#{if}) form. It returns "" when there is none.
func (p *parser) directiveName() (string, int) {
	i := p.pos + 1
	braced := i < len(p.src) && p.src[i] == '{'
	if braced {
		i++
	}
	j := i
	for j < len(p.src) && isLetter(p.src[j]) {
		j++
	}
	name := p.src[i:j]
	if braced {
		if j >= len(p.src) || p.src[j] != '}' {
			return "", 0
		}
		return name, j + 1
	}
	// #endpoint is text, not #end + "point".
	if j < len(p.src) && isIdentByte(p.src[j]) {
		return "", 0
	}
	return name, j
}

// parseDirective handles a '#' at p.pos: comments, directives and block terminators. handled
// is false when the '#' is plain text. text is the pending text, trimmed when a directive
// stands alone on its line.
func (p *parser) parseDirective(text *strings.Builder) (n node, term string, handled bool, err error) {
	start := p.pos
	if strings.HasPrefix(p.src[p.pos:], "##") {
		end := strings.IndexByte(p.src[p.pos:], '\n')
		if end < 0 {
			p.pos = len(p.src)
		} else {
			p.pos += end + 1
		}
		p.gobbleBefore(start, text)
		return nil, "", true, nil
	}
	if strings.HasPrefix(p.src[p.pos:], "#*") {
		end := strings.Index(p.src[p.pos+2:], "*#")
		if end < 0 {
			return nil, "", false, p.errAt(start, "block comment #* is not closed: add *#")
		}
		p.pos += 2 + end + 2
		p.gobble(start, text)
		return nil, "", true, nil
	}
	name, after := p.directiveName()
	switch name {
	case "set", "if", "elseif", "foreach":
		p.pos = after
		p.skipSpaces()
		if p.pos >= len(p.src) || p.src[p.pos] != '(' {
			return nil, "", false, p.errAt(start, "#%s must be followed by ( ... ): write #%s(...)", name, name)
		}
		p.pos++
		switch name {
		case "set":
			n, err = p.parseSet(start, text)
		case "if":
			n, err = p.parseIf(start, text)
		case "elseif":
			p.termPos = start
			return nil, "elseif", true, nil
		case "foreach":
			n, err = p.parseForeach(start, text)
		}
		if err != nil {
			return nil, "", false, err
		}
		return n, "", true, nil
	case "else", "end":
		p.pos = after
		p.termPos = start
		p.gobble(start, text)
		return nil, name, true, nil
	case "break":
		p.pos = after
		p.gobble(start, text)
		return breakNode{}, "", true, nil
	case "macro", "parse", "include", "stop", "define", "evaluate":
		return nil, "", false, p.errAt(start, "#%s is not supported in API Gateway mapping templates: use #set, #if, #foreach", name)
	}
	return nil, "", false, nil
}

// gobbleLine reports whether the directive that started at start stands alone on its line
// and, if so, moves p.pos past the rest of the line (newline included). The caller then drops
// the indentation before the directive, so a directive's own line leaves no trace in the output.
func (p *parser) gobbleLine(start int) bool {
	if !p.aloneBefore(start) {
		return false
	}
	i := p.pos
	for i < len(p.src) && (p.src[i] == ' ' || p.src[i] == '\t' || p.src[i] == '\r') {
		i++
	}
	if i < len(p.src) && p.src[i] != '\n' {
		return false
	}
	if i < len(p.src) {
		i++
	}
	p.pos = i
	return true
}

// gobble is gobbleLine plus trimming the indentation held in text.
func (p *parser) gobble(start int, text *strings.Builder) {
	if p.gobbleLine(start) {
		p.trimIndent(text)
	}
}

// trimLastIndent trims the indentation at the end of a finished block (before #elseif).
func trimLastIndent(nodes []node) {
	if len(nodes) == 0 {
		return
	}
	if t, ok := nodes[len(nodes)-1].(textNode); ok {
		s := strings.TrimRight(t.s, " \t")
		if s == "" || strings.HasSuffix(s, "\n") {
			nodes[len(nodes)-1] = textNode{s}
		}
	}
}

// gobbleBefore drops the indentation before a ## comment that starts its line.
func (p *parser) gobbleBefore(start int, text *strings.Builder) {
	if p.aloneBefore(start) {
		p.trimIndent(text)
	}
}

func (p *parser) aloneBefore(start int) bool {
	for i := start - 1; i >= 0 && p.src[i] != '\n'; i-- {
		if p.src[i] != ' ' && p.src[i] != '\t' {
			return false
		}
	}
	return true
}

func (p *parser) trimIndent(text *strings.Builder) {
	s := text.String()
	t := strings.TrimRight(s, " \t")
	if len(t) != len(s) && (t == "" || strings.HasSuffix(t, "\n")) {
		text.Reset()
		text.WriteString(t)
	}
}

func (p *parser) parseSet(start int, text *strings.Builder) (node, error) {
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '$' {
		return nil, p.errAt(p.pos, "#set needs a variable: write #set($name = value)")
	}
	target, err := p.parseRef()
	if err != nil {
		return nil, err
	}
	if target == nil {
		return nil, p.errAt(p.pos, "#set needs a variable name after $: write #set($name = value)")
	}
	if n := len(target.steps); n > 0 && target.steps[n-1].kind == accessMethod {
		return nil, p.errAt(start, "#set cannot assign to a method call: assign to $name, $map.key or $map['key']")
	}
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '=' {
		return nil, p.errAt(p.pos, "#set expects = after %s: write #set(%s = value)", target.src, target.src)
	}
	p.pos++
	value, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expect(')', "#set(...) is not closed: add )"); err != nil {
		return nil, err
	}
	p.gobble(start, text)
	return setNode{target: target, value: value}, nil
}

func (p *parser) parseIf(start int, text *strings.Builder) (node, error) {
	n := ifNode{}
	for {
		cond, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(')', "#if(...) condition is not closed: add )"); err != nil {
			return nil, err
		}
		if p.gobbleLine(start) {
			if len(n.blocks) == 0 {
				p.trimIndent(text)
			} else {
				trimLastIndent(n.blocks[len(n.blocks)-1])
			}
		}
		body, term, err := p.parseNodes(start)
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.blocks = append(n.blocks, body)
		switch term {
		case "elseif": // parseDirective has consumed "#elseif("
			start = p.termPos
			continue
		case "else":
			els, term, err := p.parseNodes(start)
			if err != nil {
				return nil, err
			}
			if term != "end" {
				if term == "" {
					return nil, p.errAt(start, "#if has no #end: add #end after the #else block")
				}
				return nil, p.errAt(p.termPos, "#%s after #else: close the #if with #end first", term)
			}
			if els == nil {
				els = []node{}
			}
			n.els = els
			return n, nil
		case "end":
			return n, nil
		default:
			return nil, p.errAt(start, "#if has no #end: add #end")
		}
	}
}

func (p *parser) parseForeach(start int, text *strings.Builder) (node, error) {
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '$' {
		return nil, p.errAt(p.pos, "#foreach needs a loop variable: write #foreach($item in $list)")
	}
	p.pos++
	name := p.ident()
	if name == "" {
		return nil, p.errAt(p.pos, "#foreach needs a loop variable: write #foreach($item in $list)")
	}
	p.skipSpace()
	if !strings.HasPrefix(p.src[p.pos:], "in") || p.pos+2 >= len(p.src) || isIdentByte(p.src[p.pos+2]) {
		return nil, p.errAt(p.pos, "#foreach expects 'in' after $%s: write #foreach($%s in $list)", name, name)
	}
	p.pos += 2
	list, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expect(')', "#foreach(...) is not closed: add )"); err != nil {
		return nil, err
	}
	p.gobble(start, text)
	body, term, err := p.parseNodes(start)
	if err != nil {
		return nil, err
	}
	if term != "end" {
		if term == "" {
			return nil, p.errAt(start, "#foreach has no #end: add #end")
		}
		return nil, p.errAt(p.termPos, "#%s inside #foreach without #if: use #if ... #else ... #end", term)
	}
	return foreachNode{name: name, list: list, body: body}, nil
}

func (p *parser) expect(c byte, msg string) error {
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != c {
		return p.errAt(p.pos, "%s", msg)
	}
	p.pos++
	return nil
}

// skipSpace skips white space, newlines included (inside directives and expressions).
func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// skipSpaces skips blanks on the current line (between a directive name and its "(").
func (p *parser) skipSpaces() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isIdentByte(c byte) bool {
	return isLetter(c) || c >= '0' && c <= '9' || c == '_'
}

// ident reads a Velocity identifier: a letter or _, then letters, digits, _ and - (a hyphen
// only when an identifier character follows it, so "$a-" leaves the "-" as text).
func (p *parser) ident() string {
	i := p.pos
	if i >= len(p.src) || !(isLetter(p.src[i]) || p.src[i] == '_') {
		return ""
	}
	i++
	for i < len(p.src) {
		c := p.src[i]
		if isIdentByte(c) || c == '-' && i+1 < len(p.src) && isIdentByte(p.src[i+1]) {
			i++
			continue
		}
		break
	}
	s := p.src[p.pos:i]
	p.pos = i
	return s
}

// parseRef parses a reference at p.pos (a '$'). It returns nil, without error, when the '$' does
// not start a reference (then it is text). A '.' that is not followed by an identifier ends the
// reference and stays text ("$a." is the value of $a and a dot).
func (p *parser) parseRef() (*refExpr, error) {
	start := p.pos
	i := p.pos + 1
	ref := &refExpr{}
	if i < len(p.src) && p.src[i] == '!' {
		ref.quiet = true
		i++
	}
	braced := i < len(p.src) && p.src[i] == '{'
	if braced {
		i++
	}
	p.pos = i
	ref.name = p.ident()
	if ref.name == "" {
		p.pos = start
		if braced {
			return nil, p.errAt(start, "${ must be followed by a name: write ${name}")
		}
		return nil, nil
	}
	if err := p.parseSteps(ref); err != nil {
		return nil, err
	}
	if braced {
		if p.pos >= len(p.src) || p.src[p.pos] != '}' {
			return nil, p.errAt(start, "${%s is not closed: add }", ref.name)
		}
		p.pos++
	}
	ref.src = p.src[start:p.pos]
	return ref, nil
}

// parseSteps reads .prop, .method(args) and [index] steps after a reference's root.
func (p *parser) parseSteps(ref *refExpr) error {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '.':
			save := p.pos
			p.pos++
			name := p.ident()
			if name == "" {
				p.pos = save
				return nil
			}
			if p.pos < len(p.src) && p.src[p.pos] == '(' {
				callPos := p.pos
				p.pos++
				args, err := p.parseArgs(')', callPos)
				if err != nil {
					return err
				}
				ref.steps = append(ref.steps, access{kind: accessMethod, name: name, args: args})
			} else {
				ref.steps = append(ref.steps, access{kind: accessProp, name: name})
			}
		case '[':
			save := p.pos
			p.pos++
			p.skipSpace()
			if p.pos < len(p.src) && p.src[p.pos] == ']' { // "$a[]" is text
				p.pos = save
				return nil
			}
			idx, err := p.parseExpr()
			if err != nil {
				return err
			}
			if err := p.expect(']', "index [ is not closed: add ]"); err != nil {
				return err
			}
			ref.steps = append(ref.steps, access{kind: accessIndex, index: idx})
		default:
			return nil
		}
	}
	return nil
}

// parseArgs parses comma-separated expressions up to the closing byte.
func (p *parser) parseArgs(closing byte, open int) ([]expr, error) {
	var args []expr
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == closing {
		p.pos++
		return nil, nil
	}
	for {
		a, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.errAt(open, "%c is not closed: add %c", p.src[open], closing)
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case closing:
			p.pos++
			return args, nil
		default:
			return nil, p.errAt(p.pos, "expected , or %c in the list opened at %s", closing, p.posString(open))
		}
	}
}

func (p *parser) posString(pos int) string {
	err := p.errAt(pos, "").(*SyntaxError)
	return strconv.Itoa(err.Line) + ":" + strconv.Itoa(err.Col)
}
