package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// The decoder walks the yaml.v3 node tree itself instead of calling Node.Decode, so that every
// key gets a line number, unknown keys are errors with a suggestion, type errors say what to
// write, ${ENV} is expanded in scalar values only, and every problem is collected rather than
// the first one returned.

// maxNodes bounds the work an alias-heavy document ("billion laughs") can cause.
const maxNodes = 100000

type decoder struct {
	file    string
	lookup  lookupFunc
	errs    Errors
	lines   map[string]int
	bad     []string // paths whose value could not be decoded (validation skips them)
	suspect []string // mappings holding an unknown key (validation skips them too)
	nodes   int
	tooBig  bool
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.errs = append(d.errs, Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) fail(line int, path, format string, args ...any) {
	d.bad = append(d.bad, path)
	d.errorf(line, path, format, args...)
}

var (
	durationType   = reflect.TypeFor[Duration]()
	sizeType       = reflect.TypeFor[Size]()
	stringListType = reflect.TypeFor[StringList]()
)

// decode fills v (settable) from n. path and keyLine describe where n sits.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
		d.nodes++
	}
	d.nodes++
	if d.nodes > maxNodes {
		if !d.tooBig {
			d.tooBig = true
			d.fail(n.Line, path, "the document expands to more than %d YAML nodes (aliases?); write the config out plainly", maxNodes)
		}
		return
	}
	if n.Tag != "" && !strings.HasPrefix(n.Tag, "!!") && n.Tag != "!" {
		d.fail(n.Line, path, "YAML tag %s is not supported (CloudFormation functions are not evaluated); write the value itself, use ${ENV_VAR}, or convert the template with `wsgate import`", n.Tag)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // "key:" with nothing, or null: the default applies
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}

	switch v.Type() {
	case durationType:
		if s, ok := d.scalar(n, v.Type(), path); ok {
			x, err := ParseDuration(s)
			if err != nil {
				d.fail(n.Line, path, "%s", err)
				return
			}
			v.SetInt(int64(x))
		}
		return
	case sizeType:
		if s, ok := d.scalar(n, v.Type(), path); ok {
			x, err := ParseSize(s)
			if err != nil {
				d.fail(n.Line, path, "%s", err)
				return
			}
			v.SetInt(int64(x))
		}
		return
	case stringListType:
		if n.Kind == yaml.ScalarNode {
			if s, ok := d.scalar(n, v.Type(), path); ok {
				v.Set(reflect.ValueOf(StringList{s}))
			}
			return
		}
	}

	switch v.Kind() {
	case reflect.String:
		if s, ok := d.scalar(n, v.Type(), path); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, v.Type(), path); ok {
			switch strings.ToLower(s) {
			case "true":
				v.SetBool(true)
			case "false":
				v.SetBool(false)
			default:
				d.fail(n.Line, path, "expected true or false, got %q", s)
			}
		}
	case reflect.Int, reflect.Int64:
		if s, ok := d.scalar(n, v.Type(), path); ok {
			x, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				d.fail(n.Line, path, "expected a whole number such as 4, got %q", s)
				return
			}
			v.SetInt(x)
		}
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	default:
		d.fail(n.Line, path, "internal error: cannot decode into %s", v.Type())
	}
}

// scalar expands and returns a scalar's text, or reports a type error.
func (d *decoder) scalar(n *yaml.Node, t reflect.Type, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.typeError(n, t, path)
		return "", false
	}
	s, err := expandEnv(n.Value, d.lookup)
	if err != nil {
		d.fail(n.Line, path, "%s", err)
		return "", false
	}
	return s, true
}

func (d *decoder) typeError(n *yaml.Node, t reflect.Type, path string) {
	got := "a scalar"
	switch n.Kind {
	case yaml.MappingNode:
		got = "a mapping"
	case yaml.SequenceNode:
		got = "a list"
	case yaml.ScalarNode:
		got = strconv.Quote(clip(n.Value, 40))
	}
	d.fail(n.Line, path, "expected %s, got %s", expected(t), got)
}

// expected describes what a YAML value of type t looks like, with an example.
func expected(t reflect.Type) string {
	switch t {
	case durationType:
		return "a duration such as 29s, 500ms or 10m"
	case sizeType:
		return "a size such as 131072, 128KB or 1MB"
	case stringListType:
		return "a string or a list of strings, e.g. [a, b]"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number such as 4"
	case reflect.Pointer:
		return expected(t.Elem())
	case reflect.Struct:
		fs := fieldsOf(t)
		return fmt.Sprintf("a mapping with keys such as %s: ...", fs.names[0])
	case reflect.Map:
		if t.Elem().Kind() == reflect.Struct {
			return fmt.Sprintf("a mapping such as NAME: {%s: ...}", fieldsOf(t.Elem()).names[0])
		}
		return "a mapping such as NAME: value"
	case reflect.Slice:
		return "a list (- item lines or [a, b])"
	}
	return t.String()
}

// pair is a key and its value in a mapping, after merge keys (<<) are resolved.
type pair struct{ k, v *yaml.Node }

// pairs returns the mapping's entries, explicit keys overriding merged ones, and reports
// duplicate keys (which yaml.v3's node parser accepts silently).
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var merged, own []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergePairs(val, path, 0)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, path, "a key must be a plain string, not a list or mapping")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, keyPath(path, k.Value), "duplicate key (first at line %d); keep one", first)
			continue
		}
		seen[k.Value] = k.Line
		own = append(own, pair{k, val})
	}
	out := own
	for _, p := range merged {
		if _, ok := seen[p.k.Value]; !ok {
			seen[p.k.Value] = p.k.Line
			out = append(out, p)
		}
	}
	return out
}

func (d *decoder) mergePairs(n *yaml.Node, path string, depth int) []pair {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	d.nodes++
	if depth > 8 || d.nodes > maxNodes {
		d.fail(n.Line, path, "merge keys (<<) nest too deeply; write the keys out")
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		return d.pairs(n, path)
	case yaml.SequenceNode:
		var out []pair
		for _, c := range n.Content {
			out = append(out, d.mergePairs(c, path, depth+1)...)
		}
		return out
	}
	d.fail(n.Line, path, "<< must merge a mapping (<<: *anchor)")
	return nil
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.typeError(n, v.Type(), path)
		return
	}
	fs := fieldsOf(v.Type())
	for _, p := range d.pairs(n, path) {
		kp := keyPath(path, p.k.Value)
		i, ok := fs.index[p.k.Value]
		if !ok {
			d.errorf(p.k.Line, kp, "unknown key%s", unknownHint(p.k.Value, fs.names))
			if path != "" {
				d.suspect = append(d.suspect, path)
			}
			continue
		}
		d.lines[kp] = p.k.Line
		d.decode(p.v, v.Field(i), kp)
	}
}

func unknownHint(key string, names []string) string {
	if h := didYouMean(key, names); h != "" {
		return h
	}
	return "; valid keys here: " + strings.Join(names, ", ")
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.typeError(n, v.Type(), path)
		return
	}
	// An empty mapping leaves the map nil: {} and an absent key mean the same, and stay the same
	// through Marshal (which omits empty maps).
	for _, p := range d.pairs(n, path) {
		kp := keyPath(path, p.k.Value)
		if p.k.Value == "" {
			d.fail(p.k.Line, kp, "empty key; write a name")
			continue
		}
		d.lines[kp] = p.k.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(p.v, elem, kp)
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		v.SetMapIndex(reflect.ValueOf(p.k.Value), elem)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.typeError(n, v.Type(), path)
		return
	}
	if len(n.Content) == 0 {
		return // [] is the same as absent (nil), as for maps
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		ip := indexPath(path, i)
		d.lines[ip] = c.Line
		if v.Type() == stringListType {
			for c.Kind == yaml.AliasNode && c.Alias != nil {
				c = c.Alias
			}
			if c.Kind != yaml.ScalarNode {
				d.fail(c.Line, ip, "expected a string, got a %s", kindName(c))
				continue
			}
		}
		d.decode(c, s.Index(i), ip)
	}
	v.Set(s)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "scalar"
}

// fields is a struct's yaml keys in declaration order and their field indexes.
type fields struct {
	names []string
	index map[string]int
}

var fieldCache sync.Map // reflect.Type -> *fields

func fieldsOf(t reflect.Type) *fields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*fields)
	}
	f := &fields{index: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		f.names = append(f.names, name)
		f.index[name] = i
	}
	fieldCache.Store(t, f)
	return f
}
