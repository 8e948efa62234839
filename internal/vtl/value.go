package vtl

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Values in a render are nil, string, int64, float64, bool, *vlist, *omap, or one of the AWS
// objects ($input, $context, ...). Lists and maps are pointers, shared by reference as in Java:
// a mutation through one variable is seen through every other that holds the same list or map.

// omap is an insertion-ordered map, like the LinkedHashMap behind Velocity map literals and
// parsed JSON objects.
type omap struct {
	keys []string
	m    map[string]any
}

func newOmap() *omap { return &omap{m: map[string]any{}} }

func (o *omap) put(k string, v any) any {
	old, ok := o.m[k]
	if !ok {
		o.keys = append(o.keys, k)
	}
	o.m[k] = v
	return old
}

func (o *omap) get(k string) (any, bool) { v, ok := o.m[k]; return v, ok }

func (o *omap) remove(k string) any {
	old, ok := o.m[k]
	if !ok {
		return nil
	}
	delete(o.m, k)
	for i, key := range o.keys {
		if key == k {
			o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
			break
		}
	}
	return old
}

// stringMap builds an omap from a Go map in sorted key order (Go maps have none).
func stringMap(m map[string]string) *omap {
	o := &omap{m: make(map[string]any, len(m)), keys: make([]string, 0, len(m))}
	for k, v := range m {
		o.keys = append(o.keys, k)
		o.m[k] = v
	}
	sort.Strings(o.keys)
	return o
}

// toString renders a value as Java's toString would: lists as [a, b], maps as {k=v, k2=v2},
// doubles as Java prints them. It reports false for null.
func toString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case nil:
		return "", false
	}
	var sb strings.Builder
	if !writeString(&sb, v, 0) {
		return "", false
	}
	return sb.String(), true
}

func writeString(sb *strings.Builder, v any, depth int) bool {
	if depth > 100 { // a list that contains itself
		sb.WriteString("(this Collection)")
		return true
	}
	if sb.Len() > MaxOutputBytes {
		// Too big to use anyway (the caller's write fails on the length); stop here so that
		// a structure that contains itself twice cannot take exponential time.
		return true
	}
	switch x := v.(type) {
	case nil:
		return false
	case string:
		sb.WriteString(x)
	case int64:
		sb.WriteString(strconv.FormatInt(x, 10))
	case float64:
		sb.WriteString(javaDouble(x))
	case bool:
		sb.WriteString(strconv.FormatBool(x))
	case *vlist:
		sb.WriteByte('[')
		for i, e := range x.items {
			if i > 0 {
				sb.WriteString(", ")
			}
			if !writeString(sb, e, depth+1) {
				sb.WriteString("null")
			}
		}
		sb.WriteByte(']')
	case *omap:
		sb.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(k)
			sb.WriteByte('=')
			if !writeString(sb, x.m[k], depth+1) {
				sb.WriteString("null")
			}
		}
		sb.WriteByte('}')
	case stringer:
		sb.WriteString(x.vtlString())
	default:
		return false
	}
	return true
}

// stringer is implemented by the AWS objects that have a printable form.
type stringer interface{ vtlString() string }

// javaDouble formats f as Java's Double.toString does: 2.0, 0.001, 1.0E7, 1.5E-4.
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	a := math.Abs(f)
	if a == 0 || a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // 1.5E+07
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	exp = strings.TrimPrefix(exp, "+")
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimPrefix(exp, "-"), "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}

// parseJSON decodes JSON text into render values, keeping object key order. Integers that fit
// become int64, other numbers float64.
func parseJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("extra data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > 1000 {
		return nil, errors.New("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := newOmap()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.put(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			l := &vlist{items: []any{}}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				l.items = append(l.items, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return l, nil
		}
		return nil, errors.New("unexpected delimiter")
	case json.Number:
		if n, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, err
		}
		return f, nil
	default: // string, bool, nil
		return t, nil
	}
}

// writeJSON serializes a value as compact JSON (what $input.json returns).
func writeJSON(buf *bytes.Buffer, v any, depth int) {
	if depth > 1000 || buf.Len() > MaxOutputBytes {
		buf.WriteString("null")
		return
	}
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case string:
		quoteJSON(buf, x)
	case int64:
		buf.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			buf.WriteString("null")
			return
		}
		buf.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case *vlist:
		buf.WriteByte('[')
		for i, e := range x.items {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSON(buf, e, depth+1)
		}
		buf.WriteByte(']')
	case *omap:
		buf.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			quoteJSON(buf, k)
			buf.WriteByte(':')
			writeJSON(buf, x.m[k], depth+1)
		}
		buf.WriteByte('}')
	default:
		s, _ := toString(x)
		quoteJSON(buf, s)
	}
}

// quoteJSON writes s as a JSON string, escaping only what JSON requires (no HTML escaping).
func quoteJSON(buf *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				buf.WriteString(`\ufffd`)
			} else {
				buf.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		switch c {
		case '"':
			buf.WriteString(`\"`)
		case '\\':
			buf.WriteString(`\\`)
		case '\n':
			buf.WriteString(`\n`)
		case '\r':
			buf.WriteString(`\r`)
		case '\t':
			buf.WriteString(`\t`)
		default:
			if c < 0x20 {
				buf.WriteString(`\u00`)
				buf.WriteByte(hex[c>>4])
				buf.WriteByte(hex[c&0xf])
			} else {
				buf.WriteByte(c)
			}
		}
		i++
	}
	buf.WriteByte('"')
}
