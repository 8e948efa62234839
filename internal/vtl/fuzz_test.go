package vtl

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, tc := range renderCases {
		f.Add(tc.tmpl)
	}
	for _, tc := range collectionCases {
		f.Add(tc.tmpl)
	}
	for _, tc := range literalCases {
		f.Add(tc.tmpl)
	}
	f.Add(dotnetifyTemplate)
	f.Add(`#set($a = "x${b")`)
	f.Add("#if(1)#else#elseif(2)#end")
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) && len(src) <= MaxTemplateBytes {
				t.Fatalf("Parse(%q) error %v is not a *SyntaxError", src, err)
			}
			return
		}
		if tmpl.Source() != src {
			t.Fatal("Source() differs from the parsed text")
		}
	})
}

// FuzzRender renders arbitrary templates against arbitrary bodies: it must not panic, and the
// render limits must hold (output within MaxOutputBytes; errors only the limit errors).
func FuzzRender(f *testing.F) {
	for _, tc := range renderCases {
		f.Add(tc.tmpl, testInput.Body)
	}
	for _, tc := range collectionCases {
		f.Add(tc.tmpl, testInput.Body)
	}
	for _, tc := range literalCases {
		f.Add(tc.tmpl, testInput.Body)
	}
	for _, tc := range realWorldCases {
		f.Add(tc.tmpl, realWorldBody)
	}
	f.Add(`#set($d = $input.path('$'))#set($d.a = $d)#set($d.b = $d)$d $input.json('$.*.*.*.*.*.*.*.*.*.*')`, `{"x":1}`)
	f.Add(`$input.json('$.a[0]["b"]') $input.path('$.a[-1]')`, `{"a":[{"b":"c"}]}`)
	f.Fuzz(func(t *testing.T, src, body string) {
		tmpl, err := Parse(src)
		if err != nil {
			return
		}
		in := *testInput
		in.Body = body
		out, err := tmpl.Render(&in)
		if err != nil && !errors.Is(err, ErrOutputTooLarge) && !errors.Is(err, ErrTooMuchWork) {
			t.Fatalf("Render(%q) error %v is not a limit error", src, err)
		}
		if len(out) > MaxOutputBytes {
			t.Fatalf("Render(%q) output is %d bytes, over the cap", src, len(out))
		}
	})
}
