package vtl

import (
	"fmt"
	"slices"
)

// vlist is a template list: a pointer, so that #set($a = $b) shares it and $a.add(x) is seen
// through $b, as with the java.util.ArrayList behind Velocity list literals.
type vlist struct{ items []any }

// voidResult is what a void Java method (List.clear, Map.putAll, List.add(int, x)) gives: Velocity
// 1.7 renders a void call as the empty string, not as its source text.
const voidResult = ""

// elemCost is what one element added to a list or map counts against the render's built-bytes
// budget (the size of an interface value), so mutations share that memory bound with strings.
const elemCost = 16

// grow accounts for n elements added to a list or map: n steps of work and n*elemCost bytes of
// the render's built-bytes budget, so a template cannot grow a collection without bound (a
// loop of $l.addAll($l) doubles the list each time).
func (r *renderer) grow(n int) error {
	if err := r.work(n); err != nil {
		return err
	}
	r.built += n * elemCost
	if r.built > maxBuiltBytes {
		return fmt.Errorf("%w: lists, maps and strings built while rendering exceed %d bytes", ErrOutputTooLarge, maxBuiltBytes)
	}
	return nil
}

// work accounts for n steps of work done by one method call (a scan or a shift of n elements).
func (r *renderer) work(n int) error {
	r.steps += n
	if r.steps > MaxSteps {
		return ErrTooMuchWork
	}
	return nil
}

// listMethod implements the java.util.List methods templates use. Like Java, mutations change
// the list in place; out-of-range indexes and wrong argument types give null (Java throws and
// Velocity renders the reference's source text). remove with an integer removes by index
// (List.remove(int)); with anything else it removes the first equal element and reports
// whether there was one (List.remove(Object)).
func (r *renderer) listMethod(l *vlist, name string, args []any) (any, error) {
	n := len(l.items)
	index := func(i int, max int) (int, bool) {
		if i >= len(args) {
			return 0, false
		}
		x, ok := args[i].(int64)
		if !ok || x < 0 || x > int64(max) {
			return 0, false
		}
		return int(x), true
	}
	switch name {
	case "size":
		if len(args) == 0 {
			return int64(n), nil
		}
	case "isEmpty":
		if len(args) == 0 {
			return n == 0, nil
		}
	case "get":
		if i, ok := index(0, n-1); ok && len(args) == 1 {
			return l.items[i], nil
		}
	case "contains", "indexOf", "lastIndexOf":
		if len(args) != 1 {
			return nil, nil
		}
		if err := r.work(n); err != nil {
			return nil, err
		}
		found := -1
		for i, x := range l.items {
			if equal(x, args[0]) {
				found = i
				if name != "lastIndexOf" {
					break
				}
			}
		}
		if name == "contains" {
			return found >= 0, nil
		}
		return int64(found), nil
	case "add":
		switch len(args) {
		case 1:
			if err := r.grow(1); err != nil {
				return nil, err
			}
			l.items = append(l.items, args[0])
			return true, nil
		case 2:
			if i, ok := index(0, n); ok {
				if err := r.grow(1); err != nil {
					return nil, err
				}
				if err := r.work(n - i); err != nil {
					return nil, err
				}
				l.items = slices.Insert(l.items, i, args[1])
				return voidResult, nil
			}
		}
	case "addAll":
		var at int
		var src any
		switch len(args) {
		case 1:
			at, src = n, args[0]
		case 2:
			i, ok := index(0, n)
			if !ok {
				return nil, nil
			}
			at, src = i, args[1]
		default:
			return nil, nil
		}
		add := elements(src)
		if add == nil {
			return nil, nil
		}
		if err := r.grow(len(add)); err != nil {
			return nil, err
		}
		if err := r.work(n - at); err != nil {
			return nil, err
		}
		l.items = slices.Insert(l.items, at, add...)
		return len(add) > 0, nil
	case "set":
		if i, ok := index(0, n-1); ok && len(args) == 2 {
			old := l.items[i]
			l.items[i] = args[1]
			return old, nil
		}
	case "remove":
		if len(args) != 1 {
			return nil, nil
		}
		if err := r.work(n); err != nil {
			return nil, err
		}
		if _, isInt := args[0].(int64); isInt {
			i, ok := index(0, n-1)
			if !ok {
				return nil, nil
			}
			old := l.items[i]
			l.items = slices.Delete(l.items, i, i+1)
			return old, nil
		}
		for i, x := range l.items {
			if equal(x, args[0]) {
				l.items = slices.Delete(l.items, i, i+1)
				return true, nil
			}
		}
		return false, nil
	case "clear":
		if len(args) == 0 {
			clear(l.items)
			l.items = l.items[:0]
			return voidResult, nil
		}
	}
	return nil, nil
}

// elements returns the elements of a list (the Collection that Java's addAll takes); nil when
// v is not a list.
func elements(v any) []any {
	switch x := v.(type) {
	case *vlist:
		if x.items == nil {
			return []any{}
		}
		return x.items
	}
	return nil
}

// mapMethod implements the java.util.Map methods templates use, on an insertion-ordered map
// (LinkedHashMap). Keys are strings: other keys are converted with toString. put and remove
// return the previous value (null renders as the reference's source text, as in Velocity, so
// templates write #set($ignored = $m.put(...)) or $util.qr($m.put(...))).
func (r *renderer) mapMethod(m *omap, name string, args []any) (any, error) {
	key := func() (string, bool) {
		if len(args) == 0 {
			return "", false
		}
		return toString(args[0])
	}
	switch name {
	case "size":
		return int64(len(m.keys)), nil
	case "isEmpty":
		return len(m.keys) == 0, nil
	case "get":
		if k, ok := key(); ok && len(args) == 1 {
			x, _ := m.get(k)
			return x, nil
		}
	case "getOrDefault":
		if k, ok := key(); ok && len(args) == 2 {
			if x, has := m.get(k); has {
				return x, nil
			}
			return args[1], nil
		}
	case "containsKey":
		if k, ok := key(); ok && len(args) == 1 {
			_, has := m.get(k)
			return has, nil
		}
	case "containsValue":
		if len(args) == 1 {
			if err := r.work(len(m.keys)); err != nil {
				return nil, err
			}
			for _, k := range m.keys {
				if equal(m.m[k], args[0]) {
					return true, nil
				}
			}
			return false, nil
		}
	case "put":
		if k, ok := key(); ok && len(args) == 2 {
			if err := r.grow(1); err != nil {
				return nil, err
			}
			return m.put(k, args[1]), nil
		}
	case "putAll":
		if src, ok := argOr(args, 0).(*omap); ok && len(args) == 1 {
			if err := r.grow(len(src.keys)); err != nil {
				return nil, err
			}
			if src == m {
				return voidResult, nil
			}
			for _, k := range src.keys {
				m.put(k, src.m[k])
			}
			return voidResult, nil
		}
	case "remove":
		if k, ok := key(); ok && len(args) == 1 {
			if err := r.work(len(m.keys)); err != nil {
				return nil, err
			}
			return m.remove(k), nil
		}
	case "clear":
		if len(args) == 0 {
			clear(m.m)
			m.keys = m.keys[:0]
			return voidResult, nil
		}
	case "keySet", "values", "entrySet":
		// Copies, not views: mutating them does not change the map.
		if err := r.grow(len(m.keys)); err != nil {
			return nil, err
		}
		out := make([]any, len(m.keys))
		for i, k := range m.keys {
			switch name {
			case "keySet":
				out[i] = k
			case "values":
				out[i] = m.m[k]
			default:
				e := newOmap()
				e.put("key", k)
				e.put("value", m.m[k])
				out[i] = e
			}
		}
		return &vlist{items: out}, nil
	}
	return nil, nil
}
