package vtl

import (
	"errors"
	"strings"
	"testing"
)

// collectionCases exercise list and map mutation, rendered with testInput.
var collectionCases = []struct {
	name, tmpl, want string
}{
	{"list add renders true", `#set($l = [])$l.add("a") $l.add(1) $l`, `true true [a, 1]`},
	{"list add quiet", `#set($l = [])$!{l.add("a")}#set($ok = $l.add("b"))$ok $l`, `truetrue [a, b]`},
	{"util qr", `#set($l = [])$util.qr($l.add("a"))$util.qr($l.add("b"))($util.quiet($l.add("c")))$l`, `()[a, b, c]`},
	{"util qr null arg", `#set($m = {})[$util.qr($m.put("k", 1))]$m`, `[]{k=1}`},
	{"list add at", `#set($l = ["b"])[$l.add(0, "a")][$l.add(2, "c")][$l.add(9, "x")]$l`, `[][][$l.add(9, "x")][a, b, c]`},
	{"list set", `#set($l = [1, 2, 3])$l.set(1, "two") $l [$l.set(3, 0)]`, `2 [1, two, 3] [$l.set(3, 0)]`},
	{"list remove index", `#set($l = ["a", "b", "c"])$l.remove(1) $l $l.size()`, `b [a, c] 2`},
	{"list remove object", `#set($l = ["a", "b", "a"])$l.remove("a") $l $l.remove("z")`, `true [b, a] false`},
	{"list addAll", `#set($l = [1])$l.addAll([2, 3]) $l.addAll(0, [0]) $l.addAll([]) $l`, `true true false [0, 1, 2, 3]`},
	{"list addAll self", `#set($l = [1, 2])$util.qr($l.addAll($l))$l`, `[1, 2, 1, 2]`},
	{"list clear", `#set($l = [1, 2])[$l.clear()]$l $l.isEmpty() $l.size()`, `[][] true 0`},
	{"list queries", `#set($l = ["a", 2, "a"])$l.contains(2) $l.contains("z") $l.indexOf("a") $l.lastIndexOf("a") $l.indexOf("z")`, `true false 0 2 -1`},
	{"list alias", `#set($b = [])#set($a = $b)$util.qr($a.add(1))$b`, `[1]`},
	{"list in map", `#set($m = {"l": []})$util.qr($m.l.add("x"))$util.qr($m.get("l").add("y"))$m`, `{l=[x, y]}`},
	{"map in list", `#set($l = [{}])$util.qr($l[0].put("k", "v"))$l`, `[{k=v}]`},
	{"literal is fresh each time", `#foreach($i in [1, 2])#set($l = [])$util.qr($l.add($i))$l#end`, `[1][2]`},
	{"foreach snapshot", `#set($l = [1, 2])#foreach($x in $l)$util.qr($l.add($x))#end$l`, `[1, 2, 1, 2]`},
	{"path list add", `#set($l = $input.path('$.data.list'))$util.qr($l.add(4))$l $input.path('$.data.list').size() $input.json('$.data.list')`, `[1, 2, 3, 4] 3 [1,2,3]`},
	{"split add", `#set($s = "a,b")#set($p = $s.split(","))$util.qr($p.add("c"))$p`, `[a, b, c]`},
	{"keySet is a copy", `#set($m = {"a": 1})#set($k = $m.keySet())$util.qr($k.add("z"))$k $m`, `[a, z] {a=1}`},

	{"map put", `#set($m = {})$m.put("a", 1)|$m.put("a", 2)|$m`, `$m.put("a", 1)|1|{a=2}`},
	{"map putAll", `#set($m = {"a": 1})[$m.putAll({"b": 2, "a": 3})]$m`, `[]{a=3, b=2}`},
	{"map remove", `#set($m = {"a": 1, "b": 2})$m.remove("a") $m [$m.remove("a")]`, `1 {b=2} [$m.remove("a")]`},
	{"map queries", `#set($m = {"a": 1})$m.containsKey("a") $m.containsKey("b") $m.containsValue(1) $m.containsValue(2) $m.getOrDefault("b", 0)`, `true false true false 0`},
	{"map clear", `#set($m = {"a": 1})[$m.clear()]$m $m.isEmpty()`, `[]{} true`},
	{"map alias", `#set($a = {})#set($b = $a)$util.qr($b.put("k", 1))$a.k`, `1`},
	{"entrySet", `#set($m = {"a": 1, "b": 2})#foreach($e in $m.entrySet())$e.key=$e.value;#end $m.values()`, `a=1;b=2; [1, 2]`},
}

func TestCollections(t *testing.T) {
	for _, tc := range collectionCases {
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

// errLimit in a test case means either limit error will do.
var errLimit = errors.New("ErrOutputTooLarge or ErrTooMuchWork")

// TestCollectionLimits: a template cannot grow lists or maps without bound.
func TestCollectionLimits(t *testing.T) {
	cases := []struct {
		name, tmpl string
		want       error
	}{
		// Doubling a list: 2^40 elements unless growth is charged.
		{"addAll doubling", `#set($l = [1])#foreach($i in [1..40])$util.qr($l.addAll($l))#end$l.size()`, errLimit},
		// Many adds in nested loops stay within the step budget.
		{"nested add", `#set($l = [])#foreach($i in [1..1000])#foreach($j in [1..1000])$util.qr($l.add($j))#end#end`, ErrTooMuchWork},
		// Each $input.path result is a copy of the body's values, counted like any growth.
		{"path copies", `#foreach($i in [1..1000])#set($x = $input.path('$.l'))#end`, errLimit},
		{"map putAll growth", `#set($m = {})#foreach($i in [1..1000])$util.qr($m.put("k$i", $i))#end#set($l = [])#foreach($i in [1..1000])$util.qr($l.addAll($m.values()))#end#foreach($i in [1..1000])$util.qr($l.addAll($l))#end`, ErrOutputTooLarge},
	}
	big := `{"l":[` + strings.Repeat(`{"a":1},`, 20000) + `0]}`
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := Parse(tc.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			in := *testInput
			in.Body = big
			_, err = tmpl.Render(&in)
			if tc.want == errLimit && (errors.Is(err, ErrOutputTooLarge) || errors.Is(err, ErrTooMuchWork)) {
				return
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Render error = %v, want %v", err, tc.want)
			}
		})
	}
}
