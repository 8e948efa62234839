package config

import (
	"bytes"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// plainConfig has Config's fields and tags but not its MarshalYAML, so that MarshalYAML can
// hand it back to yaml.v3 without recursing.
type plainConfig Config

// MarshalYAML makes yaml.Marshal(cfg) produce a config that Parse reads back to an equal Config:
// fields at their default are left out (so the output says only what the user chose), and a
// literal "${NAME}" in any value is written "$${NAME}" so that loading does not expand it. The
// receiver is not modified.
func (c Config) MarshalYAML() (any, error) {
	cp := escapeCopy(reflect.ValueOf(c)).Interface().(Config)
	cp.clearDefaults()
	held := map[string]string{}
	holdUnsafe(reflect.ValueOf(&cp).Elem(), held)
	var n yaml.Node
	if err := n.Encode(plainConfig(cp)); err != nil {
		return nil, err
	}
	restoreHeld(&n, held)
	return &n, nil
}

// Marshal writes c as YAML indented by two spaces, as the example and most users' files are.
func Marshal(c *Config) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Multi-line strings with leading blank lines or indentation do not survive yaml.v3's block
// scalars (the leading newline or spaces are lost, even by yaml.Node.Encode), so Marshal would
// write a config that parses back different. holdUnsafe swaps such strings in a deep copy for
// placeholders, and restoreHeld puts them back as double-quoted scalars. Found by FuzzParse.
func unsafeForBlock(s string) bool {
	return strings.Contains(s, "\n") && (s[0] == '\n' || s[0] == ' ' || s[0] == '\t')
}

func holdUnsafe(v reflect.Value, held map[string]string) {
	hold := func(s string) string {
		key := "wsgate-held-scalar-" + strconv.Itoa(len(held)) + "-" + heldNonce
		held[key] = s
		return key
	}
	switch v.Kind() {
	case reflect.String:
		if unsafeForBlock(v.String()) {
			v.SetString(hold(v.String()))
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				holdUnsafe(v.Field(i), held)
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			holdUnsafe(v.Elem(), held)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			holdUnsafe(v.Index(i), held)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			holdUnsafe(e, held)
			v.SetMapIndex(k, e)
		}
	}
}

// heldNonce keeps placeholders from matching any real value.
const heldNonce = "c0b1f3e9a7d2"

func restoreHeld(n *yaml.Node, held map[string]string) {
	if n.Kind == yaml.ScalarNode {
		if s, ok := held[n.Value]; ok {
			n.Value, n.Style, n.Tag = s, yaml.DoubleQuotedStyle, "!!str"
		}
	}
	for _, c := range n.Content {
		restoreHeld(c, held)
	}
}

// escapeCopy deep-copies v with escapeEnv applied to every string value (not to map keys, which
// are never expanded). Unexported fields are left zero.
func escapeCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.String:
		out.SetString(escapeEnv(v.String()))
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				out.Field(i).Set(escapeCopy(v.Field(i)))
			}
		}
	case reflect.Map:
		if v.IsNil() {
			break
		}
		out.Set(reflect.MakeMapWithSize(v.Type(), v.Len()))
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), escapeCopy(it.Value()))
		}
	case reflect.Slice:
		if v.IsNil() {
			break
		}
		out.Set(reflect.MakeSlice(v.Type(), v.Len(), v.Len()))
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(escapeCopy(v.Index(i)))
		}
	case reflect.Pointer:
		if v.IsNil() {
			break
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(escapeCopy(v.Elem()))
		out.Set(p)
	default:
		out.Set(v)
	}
	return out
}
