package vtl

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Input is what a template can read: the message and the request's variables.
type Input struct {
	Body           string            // $input.body; $input.json('$.x') / $input.path('$.x') read it as JSON
	Context        map[string]string // $context.X; keys flat with dots: "connectionId", "identity.sourceIp"
	StageVariables map[string]string // $stageVariables.x and $stageVariables['x']
	Header         map[string]string // $input.params('x') looks in Path, QueryString, Header (that order)
	QueryString    map[string]string
	Path           map[string]string
}

// Limits on one render, so a hostile or buggy template cannot run away.
const (
	// MaxOutputBytes caps the rendered text and any string built while rendering.
	MaxOutputBytes = 1 << 20
	// MaxForeachIterations is where #foreach stops, as on AWS.
	MaxForeachIterations = 1000
	// MaxSteps caps the evaluation work (nodes and expressions) of one render.
	MaxSteps = 2_000_000

	maxBuiltBytes = 16 * MaxOutputBytes
)

// ErrOutputTooLarge is returned (wrapped) when a render exceeds MaxOutputBytes.
var ErrOutputTooLarge = errors.New("template output exceeds 1 MB")

// ErrTooMuchWork is returned (wrapped) when a render exceeds MaxSteps.
var ErrTooMuchWork = errors.New("template does too much work (nested #foreach loops?)")

// Render evaluates t against in. It is safe to call concurrently on one *Template. The only
// errors are the limits above (ErrOutputTooLarge, ErrTooMuchWork); a reference that cannot be
// resolved renders as its source text, as in Velocity.
func (t *Template) Render(in *Input) (string, error) {
	if in == nil {
		in = &Input{}
	}
	r := &renderer{t: t, in: in}
	var sb strings.Builder
	sb.Grow(len(t.src) + len(in.Body))
	if err := r.nodes(&sb, t.nodes); err != nil && err != errBreak {
		return "", err
	}
	return sb.String(), nil
}

// errBreak unwinds from #break to the enclosing #foreach (or ends the template).
var errBreak = errors.New("#break")

type renderer struct {
	t     *Template
	in    *Input
	vars  map[string]any
	steps int
	built int
	loops []*loopState

	body       any // $input.path('$') parsed lazily
	bodyParsed bool
	bodyErr    error
}

type loopState struct {
	index, n int
}

func (r *renderer) step() error {
	r.steps++
	if r.steps > MaxSteps {
		return ErrTooMuchWork
	}
	return nil
}

func (r *renderer) write(sb *strings.Builder, s string) error {
	if sb.Len()+len(s) > MaxOutputBytes {
		return ErrOutputTooLarge
	}
	if err := r.charge(len(s)); err != nil {
		return err
	}
	sb.WriteString(s)
	return nil
}

// charge counts bytes of strings built during the render (output, interpolated strings, method
// results), so that a template cannot fill memory with many strings each under the output cap.
func (r *renderer) charge(n int) error {
	r.built += n
	if r.built > maxBuiltBytes {
		return fmt.Errorf("%w: strings built while rendering exceed %d bytes", ErrOutputTooLarge, maxBuiltBytes)
	}
	return nil
}

func (r *renderer) nodes(sb *strings.Builder, nodes []node) error {
	for _, n := range nodes {
		if err := r.step(); err != nil {
			return err
		}
		switch n := n.(type) {
		case textNode:
			if err := r.write(sb, n.s); err != nil {
				return err
			}
		case refNode:
			v, err := r.ref(n.ref)
			if err != nil {
				return err
			}
			s, ok := toString(v)
			if !ok {
				s = r.nullText(n.ref)
			}
			if err := r.write(sb, s); err != nil {
				return err
			}
		case setNode:
			if err := r.set(n); err != nil {
				return err
			}
		case ifNode:
			if err := r.ifNode(sb, n); err != nil {
				return err
			}
		case foreachNode:
			if err := r.foreach(sb, n); err != nil {
				return err
			}
		case breakNode:
			return errBreak
		}
	}
	return nil
}

// nullText is what a reference with a null value renders as: nothing when quiet or rooted at an
// AWS variable (AWS renders missing $context and $stageVariables values empty), its own source
// text otherwise (Velocity).
func (r *renderer) nullText(ref *refExpr) string {
	if ref.quiet {
		return ""
	}
	if _, user := r.vars[ref.name]; !user {
		switch ref.name {
		case "context", "stageVariables", "input", "util":
			return ""
		}
	}
	return ref.src
}

func (r *renderer) set(n setNode) error {
	v, err := r.eval(n.value)
	if err != nil {
		return err
	}
	if v == nil { // Velocity 1.7: a null right-hand side leaves the target unchanged
		return nil
	}
	t := n.target
	if len(t.steps) == 0 {
		if r.vars == nil {
			r.vars = map[string]any{}
		}
		r.vars[t.name] = v
		return nil
	}
	// $a.b.c = v: resolve $a.b, then put c.
	head := &refExpr{name: t.name, steps: t.steps[:len(t.steps)-1]}
	obj, err := r.ref(head)
	if err != nil {
		return err
	}
	last := t.steps[len(t.steps)-1]
	var key any = last.name
	if last.kind == accessIndex {
		if key, err = r.eval(last.index); err != nil {
			return err
		}
	}
	switch o := obj.(type) {
	case *omap:
		if k, ok := toString(key); ok {
			o.put(k, v)
		}
	case *vlist:
		if i, ok := key.(int64); ok && i >= 0 && i < int64(len(o.items)) {
			o.items[i] = v
		}
	}
	return nil
}

func (r *renderer) ifNode(sb *strings.Builder, n ifNode) error {
	for i, c := range n.conds {
		v, err := r.eval(c)
		if err != nil {
			return err
		}
		if truthy(v) {
			return r.nodes(sb, n.blocks[i])
		}
	}
	if n.els != nil {
		return r.nodes(sb, n.els)
	}
	return nil
}

func (r *renderer) foreach(sb *strings.Builder, n foreachNode) error {
	v, err := r.eval(n.list)
	if err != nil {
		return err
	}
	// items is a snapshot of the list's elements: adding to the list inside the loop does not
	// extend the loop (Java would throw ConcurrentModificationException).
	var items []any
	switch x := v.(type) {
	case *vlist:
		items = x.items
	case *omap: // Velocity iterates a map's values
		for _, k := range x.keys {
			items = append(items, x.m[k])
		}
	case nil:
		return nil
	default:
		items = []any{x}
	}
	if len(items) > MaxForeachIterations {
		items = items[:MaxForeachIterations]
	}
	if r.vars == nil {
		r.vars = map[string]any{}
	}
	prev, hadPrev := r.vars[n.name]
	st := &loopState{n: len(items)}
	r.loops = append(r.loops, st)
	defer func() {
		r.loops = r.loops[:len(r.loops)-1]
		if hadPrev {
			r.vars[n.name] = prev
		} else {
			delete(r.vars, n.name)
		}
	}()
	for i, item := range items {
		st.index = i
		r.vars[n.name] = item
		if err := r.nodes(sb, n.body); err != nil {
			if err == errBreak {
				return nil
			}
			return err
		}
	}
	return nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	}
	return true
}

func (r *renderer) eval(e expr) (any, error) {
	if err := r.step(); err != nil {
		return nil, err
	}
	switch e := e.(type) {
	case litExpr:
		return e.v, nil
	case strExpr:
		var sb strings.Builder
		if err := r.nodes(&sb, e.body); err != nil {
			if err == errBreak {
				return sb.String(), nil
			}
			return nil, err
		}
		return sb.String(), nil
	case *refExpr:
		return r.ref(e)
	case chainExpr:
		v, err := r.eval(e.base)
		if err != nil {
			return nil, err
		}
		return r.access(v, e.steps)
	case listExpr:
		l := make([]any, 0, len(e.elems))
		for _, x := range e.elems {
			v, err := r.eval(x)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return &vlist{items: l}, nil
	case rangeExpr:
		return r.rangeList(e)
	case mapExpr:
		m := newOmap()
		for i := range e.keys {
			k, err := r.eval(e.keys[i])
			if err != nil {
				return nil, err
			}
			v, err := r.eval(e.vals[i])
			if err != nil {
				return nil, err
			}
			ks, _ := toString(k)
			m.put(ks, v)
		}
		return m, nil
	case unExpr:
		x, err := r.eval(e.x)
		if err != nil {
			return nil, err
		}
		if e.op == "!" {
			return !truthy(x), nil
		}
		return arith("-", int64(0), x), nil
	case binExpr:
		return r.binary(e)
	}
	return nil, fmt.Errorf("vtl: unknown expression %T", e)
}

func (r *renderer) rangeList(e rangeExpr) (any, error) {
	a, err := r.eval(e.from)
	if err != nil {
		return nil, err
	}
	b, err := r.eval(e.to)
	if err != nil {
		return nil, err
	}
	from, ok1 := toInt(a)
	to, ok2 := toInt(b)
	if !ok1 || !ok2 {
		return nil, nil
	}
	step := int64(1)
	if to < from {
		step = -1
	}
	var l []any
	for i := from; ; i += step {
		l = append(l, i)
		if i == to || len(l) > MaxForeachIterations {
			break
		}
		if err := r.step(); err != nil {
			return nil, err
		}
	}
	return &vlist{items: l}, nil
}

func (r *renderer) binary(e binExpr) (any, error) {
	l, err := r.eval(e.l)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "&&":
		if !truthy(l) {
			return false, nil
		}
		rv, err := r.eval(e.r)
		return truthy(rv), err
	case "||":
		if truthy(l) {
			return true, nil
		}
		rv, err := r.eval(e.r)
		return truthy(rv), err
	}
	rv, err := r.eval(e.r)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "==":
		return equal(l, rv), nil
	case "!=":
		return !equal(l, rv), nil
	case "<", "<=", ">", ">=":
		c, ok := compare(l, rv)
		if !ok {
			return false, nil
		}
		switch e.op {
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		default:
			return c >= 0, nil
		}
	}
	return arith(e.op, l, rv), nil
}

// toInt converts an integral number to int64.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<62 {
			return int64(x), true
		}
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// arith applies + - * / % to numbers. Integers stay integers (5/2 is 2) unless they overflow;
// anything that is not a number, or a division by zero, gives null, as in Velocity.
func arith(op string, a, b any) any {
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	if aInt && bInt {
		switch op {
		case "+":
			if s := ai + bi; (s > ai) == (bi > 0) {
				return s
			}
		case "-":
			if d := ai - bi; (d < ai) == (bi > 0) {
				return d
			}
		case "*":
			if ai == 0 || bi == 0 {
				return int64(0)
			}
			if p := ai * bi; p/bi == ai && !(ai == -1 && bi == math.MinInt64) && !(bi == -1 && ai == math.MinInt64) {
				return p
			}
		case "/":
			if bi == 0 {
				return nil
			}
			if !(ai == math.MinInt64 && bi == -1) {
				return ai / bi
			}
		case "%":
			if bi == 0 {
				return nil
			}
			if bi == -1 {
				return int64(0)
			}
			return ai % bi
		}
	}
	af, ok1 := toFloat(a)
	bf, ok2 := toFloat(b)
	if !ok1 || !ok2 {
		return nil
	}
	switch op {
	case "+":
		return af + bf
	case "-":
		return af - bf
	case "*":
		return af * bf
	case "/":
		if bf == 0 {
			return nil
		}
		return af / bf
	case "%":
		if bf == 0 {
			return nil
		}
		return math.Mod(af, bf)
	}
	return nil
}

// equal is Velocity's ==: numbers by value, same kinds by equality, otherwise by toString.
func equal(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if af, ok := toFloat(a); ok {
		if bf, ok := toFloat(b); ok {
			return af == bf
		}
	}
	as, ok1 := toString(a)
	bs, ok2 := toString(b)
	return ok1 && ok2 && as == bs
}

// compare orders two numbers, or two strings.
func compare(a, b any) (int, bool) {
	if af, ok := toFloat(a); ok {
		if bf, ok := toFloat(b); ok {
			switch {
			case af < bf:
				return -1, true
			case af > bf:
				return 1, true
			}
			return 0, true
		}
	}
	as, ok1 := a.(string)
	bs, ok2 := b.(string)
	if ok1 && ok2 {
		return strings.Compare(as, bs), true
	}
	return 0, false
}
