package vtl

import (
	"bytes"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The AWS variables. They read the renderer's Input.
type (
	inputObj   struct{}
	ctxView    struct{ prefix string } // $context, or a sub-tree such as $context.identity
	stageObj   struct{}
	utilObj    struct{}
	foreachObj struct{ st *loopState }
)

func (ctxView) vtlString() string { return "" }

// numericContext are the $context keys AWS holds as numbers, so templates can do arithmetic
// on them (#set($ttl = $context.requestTimeEpoch + 86400)).
var numericContext = map[string]bool{"requestTimeEpoch": true, "connectedAt": true}

func (r *renderer) ref(ref *refExpr) (any, error) {
	return r.access(r.root(ref.name), ref.steps)
}

// access applies property, index and method steps to v, stopping at the first null.
func (r *renderer) access(v any, steps []access) (any, error) {
	for i := range steps {
		if v == nil {
			return nil, nil
		}
		if err := r.step(); err != nil {
			return nil, err
		}
		s := &steps[i]
		switch s.kind {
		case accessProp:
			v = r.prop(v, s.name)
		case accessIndex:
			k, err := r.eval(s.index)
			if err != nil {
				return nil, err
			}
			v = r.index(v, k)
		case accessMethod:
			args := make([]any, len(s.args))
			for j, a := range s.args {
				x, err := r.eval(a)
				if err != nil {
					return nil, err
				}
				args[j] = x
			}
			var err error
			if v, err = r.call(v, s.name, args); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

func (r *renderer) root(name string) any {
	if v, ok := r.vars[name]; ok {
		return v
	}
	switch name {
	case "input":
		return inputObj{}
	case "context":
		return ctxView{}
	case "stageVariables":
		return stageObj{}
	case "util":
		return utilObj{}
	case "foreach":
		if len(r.loops) > 0 {
			return foreachObj{r.loops[len(r.loops)-1]}
		}
	case "velocityCount":
		if len(r.loops) > 0 {
			return int64(r.loops[len(r.loops)-1].index + 1)
		}
	case "velocityHasNext":
		if len(r.loops) > 0 {
			st := r.loops[len(r.loops)-1]
			return st.index+1 < st.n
		}
	}
	return nil
}

// prop resolves $v.name: a map key, an AWS variable, or a getter (getName()/isName()).
func (r *renderer) prop(v any, name string) any {
	switch o := v.(type) {
	case *omap:
		x, _ := o.get(name)
		return x
	case ctxView:
		return r.context(o.prefix + name)
	case stageObj:
		if x, ok := r.in.StageVariables[name]; ok {
			return x
		}
		return nil
	case inputObj:
		if name == "body" {
			return r.in.Body
		}
		return nil
	case foreachObj:
		switch name {
		case "hasNext":
			return o.st.index+1 < o.st.n
		case "index":
			return int64(o.st.index)
		case "count":
			return int64(o.st.index + 1)
		case "first":
			return o.st.index == 0
		case "last":
			return o.st.index+1 == o.st.n
		}
		return nil
	}
	if name == "" {
		return nil
	}
	upper := string(unicode.ToUpper(rune(name[0]))) + name[1:]
	if x, _ := r.call(v, "get"+upper, nil); x != nil {
		return x
	}
	x, _ := r.call(v, "is"+upper, nil)
	return x
}

// context looks up a flat $context key, or returns a view of the keys under it.
func (r *renderer) context(key string) any {
	if s, ok := r.in.Context[key]; ok {
		if numericContext[key] {
			if n, ok := parseInt(s); ok {
				return n
			}
		}
		return s
	}
	prefix := key + "."
	for k := range r.in.Context {
		if strings.HasPrefix(k, prefix) {
			return ctxView{prefix}
		}
	}
	return nil
}

func parseInt(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// index resolves $v[k].
func (r *renderer) index(v, k any) any {
	switch o := v.(type) {
	case *vlist:
		if i, ok := toInt(k); ok && i >= 0 && i < int64(len(o.items)) {
			return o.items[i]
		}
		return nil
	case string:
		return nil
	}
	if s, ok := toString(k); ok {
		return r.prop(v, s)
	}
	return nil
}

// call invokes $v.name(args). Unknown methods and bad arguments give null (Velocity logs and
// renders the reference's source text); only render limits are errors.
func (r *renderer) call(v any, name string, args []any) (any, error) {
	var out any
	switch o := v.(type) {
	case string:
		var err error
		if out, err = r.stringMethod(o, name, args); err != nil {
			return nil, err
		}
	case *vlist:
		var err error
		if out, err = r.listMethod(o, name, args); err != nil {
			return nil, err
		}
	case *omap:
		var err error
		if out, err = r.mapMethod(o, name, args); err != nil {
			return nil, err
		}
	case int64, float64:
		out = numberMethod(o, name, args)
	case inputObj:
		var err error
		if out, err = r.inputMethod(name, args); err != nil {
			return nil, err
		}
	case utilObj:
		out = utilMethod(name, args)
	case ctxView, stageObj:
		if name == "get" && len(args) == 1 {
			if k, ok := toString(args[0]); ok {
				out = r.prop(o, k)
			}
		}
	case foreachObj:
		if strings.HasPrefix(name, "get") || strings.HasPrefix(name, "is") {
			n := strings.TrimPrefix(strings.TrimPrefix(name, "get"), "is")
			if n != "" && len(args) == 0 {
				out = r.prop(o, strings.ToLower(n[:1])+n[1:])
			}
		} else if len(args) == 0 {
			out = r.prop(o, name)
		}
	}
	if out == nil && len(args) == 0 {
		switch name {
		case "toString":
			if s, ok := toString(v); ok {
				out = s
			}
		case "hashCode":
		}
	}
	if out == nil && name == "equals" && len(args) == 1 {
		out = equal(v, args[0])
	}
	if s, ok := out.(string); ok {
		if err := r.charge(len(s)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *renderer) inputMethod(name string, args []any) (any, error) {
	switch name {
	case "getBody":
		if len(args) == 0 {
			return r.in.Body, nil
		}
	case "json", "path":
		if len(args) != 1 {
			return nil, nil
		}
		p, ok := args[0].(string)
		if !ok {
			return nil, nil
		}
		doc, ok := r.parsedBody()
		if !ok {
			if name == "path" && strings.TrimSpace(p) == "$" {
				return r.in.Body, nil
			}
			return nil, nil
		}
		v, found := jsonPath(doc, p)
		if name == "path" {
			// A copy: the template may mutate what it gets ($l.add(x)), and that must not
			// change what later $input.path and $input.json calls read from the body.
			c, n := copyJSON(v)
			return c, r.grow(n)
		}
		if !found {
			return "", nil
		}
		var buf bytes.Buffer
		writeJSON(&buf, v, 0)
		return buf.String(), nil
	case "params":
		if len(args) == 0 {
			all := newOmap()
			all.put("path", stringMap(r.in.Path))
			all.put("querystring", stringMap(r.in.QueryString))
			all.put("header", stringMap(r.in.Header))
			return all, nil
		}
		if len(args) == 1 {
			k, ok := toString(args[0])
			if !ok {
				return nil, nil
			}
			for _, m := range []map[string]string{r.in.Path, r.in.QueryString, r.in.Header} {
				if x, ok := m[k]; ok {
					return x, nil
				}
			}
			// Header names are case-insensitive.
			for hk, x := range r.in.Header {
				if strings.EqualFold(hk, k) {
					return x, nil
				}
			}
			return "", nil
		}
	}
	return nil, nil
}

// copyJSON deeply copies lists and maps parsed from JSON (which have no cycles) and counts the
// elements copied.
func copyJSON(v any) (any, int) {
	n := 0
	switch x := v.(type) {
	case *vlist:
		l := &vlist{items: make([]any, len(x.items))}
		for i, e := range x.items {
			c, k := copyJSON(e)
			l.items[i], n = c, n+k+1
		}
		return l, n
	case *omap:
		m := &omap{keys: slices.Clone(x.keys), m: make(map[string]any, len(x.m))}
		for k, e := range x.m {
			c, kn := copyJSON(e)
			m.m[k], n = c, n+kn+1
		}
		return m, n
	}
	return v, 0
}

// parsedBody parses $input.body as JSON once per render.
func (r *renderer) parsedBody() (any, bool) {
	if !r.bodyParsed {
		r.bodyParsed = true
		r.body, r.bodyErr = parseJSON(r.in.Body)
	}
	return r.body, r.bodyErr == nil
}

func numberMethod(v any, name string, args []any) any {
	if len(args) != 0 {
		return nil
	}
	switch name {
	case "intValue", "longValue":
		if i, ok := v.(int64); ok {
			return i
		}
		f := v.(float64)
		if f != f || f > 9.2e18 || f < -9.2e18 {
			return nil
		}
		return int64(f)
	case "doubleValue", "floatValue":
		f, _ := toFloat(v)
		return f
	}
	return nil
}

// runeIndex converts a character index to a byte offset in s (-1 when out of range).
func runeIndex(s string, i int64) int {
	if i < 0 {
		return -1
	}
	off := 0
	for n := int64(0); n < i; n++ {
		if off >= len(s) {
			return -1
		}
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}
