package config

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// bare is a config with nothing set but one integration of each type and one authorizer of
// each type, so that every default, including the per-type ones, has a field to land in.
func bare() *Config {
	return &Config{
		Integrations: map[string]Integration{
			"http": {Type: HTTP}, "proxy": {Type: HTTPProxy}, "lambda": {Type: AWSProxy},
			"aws": {Type: AWS}, "mock": {Type: Mock},
		},
		Authorizers: map[string]Authorizer{"jwt": {Type: JWT}, "request": {Type: Request}},
	}
}

// TestDefaultsRoundTrip reflects over the whole Config: every field ApplyDefaults sets must be
// emptied again by clearDefaults, and a value other than the default must survive both. A
// default applied outside the one walk in defaults.go (so never cleared, and written out by
// Marshal on every save), or cleared against a different value than it was applied with, fails
// here naming the field.
func TestDefaultsRoundTrip(t *testing.T) {
	full := bare()
	full.ApplyDefaults()
	defaulted := diff(leaves(bare()), leaves(full))
	if len(defaulted) < 30 {
		t.Fatalf("only %d defaulted fields found: %v", len(defaulted), defaulted)
	}
	t.Logf("%d defaulted fields: %s", len(defaulted), strings.Join(defaulted, " "))

	stripped := bare()
	stripped.ApplyDefaults()
	stripped.clearDefaults()
	for _, path := range diff(leaves(bare()), leaves(stripped)) {
		t.Errorf("%s is set by ApplyDefaults but not cleared by clearDefaults", path)
	}

	again := bare()
	again.ApplyDefaults()
	again.ApplyDefaults()
	for _, path := range diff(leaves(full), leaves(again)) {
		t.Errorf("%s: ApplyDefaults is not idempotent", path)
	}

	// Every defaulted field set to another value: clearDefaults keeps it, and ApplyDefaults
	// after it gives the same config back.
	changed := bare()
	changed.ApplyDefaults()
	bump(reflect.ValueOf(changed).Elem(), "", defaulted)
	want := leaves(changed)
	changed.clearDefaults()
	for _, path := range diff(want, leaves(changed)) {
		if slicesContain(defaulted, path) {
			t.Errorf("%s: a value other than the default is cleared by clearDefaults", path)
		}
	}
	changed.ApplyDefaults()
	for _, path := range diff(want, leaves(changed)) {
		t.Errorf("%s changed in clearDefaults then ApplyDefaults", path)
	}
}

// TestClearDefaultsLeavesMapsAlone: clearDefaults works on a shallow copy in MarshalYAML, so
// it must not write into the maps it shares with the caller's config.
func TestClearDefaultsLeavesMapsAlone(t *testing.T) {
	c := bare()
	c.ApplyDefaults()
	cp := *c
	cp.clearDefaults()
	if c.Integrations["http"].Method != DefaultIntegrationMethod || len(c.Authorizers["jwt"].IdentitySource) != 1 {
		t.Fatalf("clearDefaults modified the caller's maps: %+v %+v", c.Integrations["http"], c.Authorizers["jwt"])
	}
	if cp.Integrations["http"].Method != "" {
		t.Fatalf("copy not cleared: %+v", cp.Integrations["http"])
	}
}

// leaves maps the path of every field of c (yaml names, map keys in brackets) to its value.
// Lists and maps of strings are leaves; structs, pointers and maps of structs are walked.
func leaves(c *Config) map[string]any {
	out := map[string]any{}
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if f := v.Type().Field(i); f.IsExported() {
					walk(v.Field(i), path+"."+yamlName(f))
				}
			}
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), path)
			}
		case reflect.Map:
			if v.Type().Elem().Kind() != reflect.Struct {
				out[path] = v.Interface()
				return
			}
			for it := v.MapRange(); it.Next(); {
				walk(it.Value(), path+"["+it.Key().String()+"]")
			}
		default:
			out[path] = v.Interface()
		}
	}
	walk(reflect.ValueOf(c).Elem(), "")
	return out
}

// bump changes the value of every field in paths to one that is not its default.
func bump(v reflect.Value, path string, paths []string) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				bump(v.Field(i), path+"."+yamlName(f), paths)
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			bump(v.Elem(), path, paths)
		}
	case reflect.Map:
		if v.Type().Elem().Kind() != reflect.Struct {
			return
		}
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			bump(e, path+"["+k.String()+"]", paths)
			v.SetMapIndex(k, e)
		}
	default:
		if !slicesContain(paths, path) {
			return
		}
		switch v.Kind() {
		case reflect.String:
			v.SetString(v.String() + "-changed-" + path) // distinct, so no two fields meet by chance
		case reflect.Int, reflect.Int64:
			v.SetInt(v.Int() + 1)
		case reflect.Slice:
			v.Set(reflect.Append(v, reflect.ValueOf("changed").Convert(v.Type().Elem())))
		default:
			panic("bump: no other value for " + path + " of kind " + v.Kind().String())
		}
	}
}

// diff lists the paths whose values differ between a and b, sorted.
func diff(a, b map[string]any) []string {
	var out []string
	for path, va := range a {
		if vb, ok := b[path]; !ok || !reflect.DeepEqual(va, vb) {
			out = append(out, path)
		}
	}
	for path := range b {
		if _, ok := a[path]; !ok {
			out = append(out, path)
		}
	}
	sort.Strings(out)
	return out
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
