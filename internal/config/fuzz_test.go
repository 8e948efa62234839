package config

import (
	"errors"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParse: Parse never panics; a failure is a non-empty Errors naming the file; a success is
// a valid config that survives yaml.Marshal -> Parse unchanged.
func FuzzParse(f *testing.F) {
	for _, tc := range goodCases {
		f.Add([]byte(tc.src))
	}
	for _, tc := range badCases {
		f.Add([]byte(tc.src))
	}
	f.Add(Example())
	f.Add(uncommented())
	f.Add([]byte("a: &a [*a, *a]\nstage: *a\n"))
	f.Add([]byte("x: &x {<<: *x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse("f.yaml", data, lookupEnv)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not a non-empty Errors: %#v", err)
			}
			for _, e := range es {
				if e.File != "f.yaml" || e.Msg == "" {
					t.Fatalf("malformed Error %#v", e)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config Validate rejects: %v", err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := parse("f.yaml", out, lookupEnv)
		if err != nil {
			t.Fatalf("marshalled config does not parse: %v\n---\n%s", err, out)
		}
		if a, b := exported(c), exported(back); !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v\n---\n%s", a, b, out)
		}
	})
}

// FuzzExpandEnv: expansion never panics, and escapeEnv is its exact inverse.
func FuzzExpandEnv(f *testing.F) {
	for _, s := range []string{"${A}", "$${A}", "$$${A}", "${request.body.x}", "${A:-b}", "${A:?x}", "${", "$", "x${A:-", "${${A}}", "${$${A}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = expandEnv(s, lookupEnv)
		esc := escapeEnv(s)
		back, err := expandEnv(esc, func(string) (string, bool) { return "SET", true })
		if err != nil || back != s {
			t.Fatalf("expandEnv(escapeEnv(%q) = %q) = %q, %v", s, esc, back, err)
		}
	})
}

// BenchmarkParseExample is what `wsgate serve` pays at start (and on every validate run).
func BenchmarkParseExample(b *testing.B) {
	src := uncommented()
	env["WSGATE_ACCESS_KEY_ID"], env["WSGATE_SECRET_ACCESS_KEY"] = "AKID", "SECRET"
	defer func() { delete(env, "WSGATE_ACCESS_KEY_ID"); delete(env, "WSGATE_SECRET_ACCESS_KEY") }()
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := parse("b.yaml", src, lookupEnv); err != nil {
			b.Fatal(err)
		}
	}
}
