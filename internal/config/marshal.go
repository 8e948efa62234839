package config

import (
	"bytes"
	"reflect"

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
	return plainConfig(cp), nil
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
