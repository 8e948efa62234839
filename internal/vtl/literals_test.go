package vtl

import (
	"errors"
	"strings"
	"testing"
)

// literalCases: method calls on literals and doubled quotes in string literals.
var literalCases = []struct {
	name, tmpl, want string
}{
	{"split literal", `#set($p = "a,b".split(","))$p $p.size()`, `[a, b] 2`},
	{"single quoted length", `#set($n = 'xyz'.length())$n`, `3`},
	{"list literal size", `#if([1, 2].size() == 2)two#end [].isEmpty() `, `two [].isEmpty() `},
	{"list literal index", `#set($x = ["a", "b"][1])$x`, `b`},
	{"map literal key", `#set($x = {"k": "v"}.k)$x #set($y = {"k": "v"}["k"].toUpperCase())$y`, `v V`},
	{"range literal", `#set($n = [1..4].size())$n`, `4`},
	{"interpolated then method", `#set($w = "World")#set($s = "hi $w".toUpperCase())$s`, `HI WORLD`},
	{"chained", `#set($s = " a,b ".trim().split(",").get(1))$s`, `b`},
	{"foreach over literal call", `#foreach($x in "a-b-c".split("-"))$x#end`, `abc`},
	{"literal call null", `#set($x = "k")#set($x = "a".nope())$x`, `k`},
	{"literal add is fresh", `#foreach($i in [1, 2])#set($l = [0])#set($ok = [0].add($i))$l#end`, `[0][0]`},

	{"doubled double quotes", `#set($s = "say ""hi""")$s $s.length()`, `say "hi" 8`},
	{"doubled single quotes", `#set($s = 'it''s')$s`, `it's`},
	{"other quote inside", `#set($a = "it's")#set($b = 'a "q"')$a $b`, `it's a "q"`},
	{"doubled quotes interpolated", `#set($m = {"k": "v"})#set($s = "[$m.get(""k"")]")$s`, `[v]`},
	{"doubled quote only", `#set($s = """")[$s]#set($t = '''')[$t]`, `["][']`},
	{"empty strings still", `#if("" == '')e#end $util.urlEncode("")|`, `e |`},
	{"adjacent empty args", `#set($s = "abc")$s.replace("b","")`, `ac`},
}

func TestLiterals(t *testing.T) {
	for _, tc := range literalCases {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := Parse(tc.tmpl)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.tmpl, err)
			}
			got, err := tmpl.Render(testInput)
			if err != nil {
				t.Fatalf("Render(%q): %v", tc.tmpl, err)
			}
			if got != tc.want {
				t.Errorf("Render(%q)\n got: %s\nwant: %s", tc.tmpl, got, tc.want)
			}
		})
	}
}

func TestLiteralParseErrors(t *testing.T) {
	cases := []struct{ tmpl, want string }{
		{`#set($s = "say ""hi)`, `1:11: string is not closed: add "`},
		{`#set($s = 'it''s)`, `1:11: string is not closed: add '`},
		// The position points into the original text, past the doubled quotes.
		{`#set($s = "a""b${x")`, `1:16: in string: ${x is not closed`},
		{`#set($s = "a".split(",")`, `#set(...) is not closed`},
		{`#set($s = "a".x(`, `1:17: expected a value`},
	}
	for _, tc := range cases {
		_, err := Parse(tc.tmpl)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want a *SyntaxError containing %q", tc.tmpl, err, tc.want)
		}
	}
}
