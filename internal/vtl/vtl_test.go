package vtl

import (
	"errors"
	"strings"
	"testing"
)

var testInput = &Input{
	Body: `{"action":"sync_sfn","data":{"msg":"it's \"here\"","n":3,"list":[1,2,3]},"callType":"request_vm"}`,
	Context: map[string]string{
		"connectionId":           "L0SM9cOFvHcCIhw=",
		"requestTimeEpoch":       "1700000000000",
		"identity.sourceIp":      "192.0.2.1",
		"authorizer.principalId": "user-1",
		"stage":                  "dev",
	},
	StageVariables: map[string]string{"env": "test", "my-var": "dash"},
	Header:         map[string]string{"Host": "example.com", "ws-uri": "/rooms/42"},
	QueryString:    map[string]string{"token": "abc"},
	Path:           map[string]string{},
}

// renderCases: each template with the input above and the exact output expected.
var renderCases = []struct {
	name, tmpl, want string
}{
	// docs/aws-compatibility.md: dotNetify.
	{"dotnetify connect", `{ "connectionId": "$context.connectionId" }`, `{ "connectionId": "L0SM9cOFvHcCIhw=" }`},
	{"dotnetify default", `{ "connectionId": "$context.connectionId", "payload": $input.body }`,
		`{ "connectionId": "L0SM9cOFvHcCIhw=", "payload": {"action":"sync_sfn","data":{"msg":"it's \"here\"","n":3,"list":[1,2,3]},"callType":"request_vm"} }`},
	// docs/aws-compatibility.md: the aws-samples templates.
	{"ttl", "#set($ttl = $context.requestTimeEpoch + 86400)\n{\"ttl\": {\"N\": \"$ttl\"}}", `{"ttl": {"N": "1700000086400"}}`},
	{"sfn sync", "#set($sfn_input=$util.escapeJavaScript($input.json(\"$.data\")).replaceAll(\"\\\\'\",\"'\"))\n" +
		`{"input": "$sfn_input", "stateMachineArn": "arn:x"}`,
		`{"input": "{\"msg\":\"it's \\\"here\\\"\",\"n\":3,\"list\":[1,2,3]}", "stateMachineArn": "arn:x"}`},
	{"sfn async", "#set($sfn_input=$util.escapeJavaScript($input.json(\"$.data\")).replaceAll(\"\\\\'\",\"'\"))\n" +
		`{"input": "{\"data\":$sfn_input, \"ConnectionID\":\"$context.connectionId\"}"}`,
		`{"input": "{\"data\":{\"msg\":\"it's \\\"here\\\"\",\"n\":3,\"list\":[1,2,3]}, \"ConnectionID\":\"L0SM9cOFvHcCIhw=\"}"}`},
	{"params", `"$input.params('ws-uri')" "$input.params('token')" "$input.params('missing')"`, `"/rooms/42" "abc" ""`},
	{"params get", `$input.params().get('header') | $input.params().get('querystring') | $input.params().get('path')`,
		`{Host=example.com, ws-uri=/rooms/42} | {token=abc} | {}`},
	{"params all", `$input.params()`, `{path={}, querystring={token=abc}, header={Host=example.com, ws-uri=/rooms/42}}`},
	{"params header case", `$input.params('HOST')`, `example.com`},

	{"aws sample connect", "#set($ttl = $context.requestTimeEpoch + 86400)\n{\n    \"TableName\": \"sessions\",\n    \"Item\": {\n\t\"connectionid\": {\"S\": \"$context.connectionId\"},\n\t\"path\": {\"S\": \"$input.params('ws-uri')\"},\n\t\"headers\": {\"S\": \"$input.params().get('header')\"},\n\t\"querystring\": {\"S\": \"$input.params().get('querystring')\"},\n\t\"ttl\": {\"N\": \"$ttl\"}\n    }\n}",
		"{\n    \"TableName\": \"sessions\",\n    \"Item\": {\n\t\"connectionid\": {\"S\": \"L0SM9cOFvHcCIhw=\"},\n\t\"path\": {\"S\": \"/rooms/42\"},\n\t\"headers\": {\"S\": \"{Host=example.com, ws-uri=/rooms/42}\"},\n\t\"querystring\": {\"S\": \"{token=abc}\"},\n\t\"ttl\": {\"N\": \"1700000086400\"}\n    }\n}"},

	// References.
	{"context nested", `$context.identity.sourceIp $context.authorizer.principalId`, `192.0.2.1 user-1`},
	{"context missing", `[$context.nope][$context.identity.nope][${context.nope}]`, `[][][]`},
	{"context braces", `${context.connectionId}x`, `L0SM9cOFvHcCIhw=x`},
	{"context index", `$context['stage']`, `dev`},
	{"stage vars", `$stageVariables.env $stageVariables['my-var'] [$stageVariables.none] $stageVariables.my-var`, `test dash [] dash`},
	{"undefined literal", `a $nope b ${nope} c $nope.x('y') d`, `a $nope b ${nope} c $nope.x('y') d`},
	{"quiet", `a$!{nope}b$!nope.c`, `ab`},
	{"dollar text", `cost: $5 and $ alone and $.data`, `cost: $5 and $ alone and $.data`},
	{"trailing dot", `$context.stage.`, `dev.`},
	{"hyphen ends", `$context.stage-`, `dev-`},
	{"escape", `\$context.stage \#set \$!{x}`, `$context.stage #set $!{x}`},
	{"backslash other", `a\nb\"`, `a\nb\"`},
	{"hash text", `color #fff #endpoint #{notadirective}`, `color #fff #endpoint #{notadirective}`},

	// $input.
	{"json root", `$input.json('$')`, `{"action":"sync_sfn","data":{"msg":"it's \"here\"","n":3,"list":[1,2,3]},"callType":"request_vm"}`},
	{"json string", `$input.json('$.action')`, `"sync_sfn"`},
	{"json missing", `[$input.json('$.nope')]`, `[]`},
	{"json index", `$input.json('$.data.list[1]') $input.json("$['data']['n']")`, `2 3`},
	{"json wildcard", `$input.json('$.data.list[*]')`, `[1,2,3]`},
	{"path value", `#set($d = $input.path('$.data'))$d.n $d.list.size() $d.list[0] $d.keySet()`, `3 3 1 [msg, n, list]`},
	{"path arithmetic", `#set($n = $input.path('$.data.n') * 2)$n`, `6`},
	{"path missing", `[$input.path('$.zz')]`, `[]`},
	{"path map render", `$input.path('$.data')`, `{msg=it's "here", n=3, list=[1, 2, 3]}`},
	{"body", `$input.body.length() > 0`, `97 > 0`},

	// #set, #if, #foreach.
	{"set if", "#set($a = 5)\n#if($a > 3)\nbig\n#elseif($a > 1)\nmid\n#else\nsmall\n#end\n", "big\n"},
	{"elseif", "#set($a = 2)#if($a > 3)big#elseif($a > 1)mid#{else}small#end", "mid"},
	{"else", "#set($a = 0)#if($a > 3)big#elseif($a > 1)mid#else small#end", " small"},
	{"if null", `#if($nope)y#{else}n#end #if(!$nope)y#end`, `n y`},
	{"if empty string true", `#if("")y#{else}n#end`, `y`},
	{"word ops", `#if(1 lt 2 and not false or false)y#end #if(2 eq 2 && 3 ne 4)z#end`, `y z`},
	{"logic", `#if((1 < 2 || 1/0 > 1) && !(2 >= 3))ok#end`, `ok`},
	{"foreach", `#foreach($x in [1, 2, 3])$x#if($foreach.hasNext),#end#end`, `1,2,3`},
	{"foreach count", `#foreach($x in ["a", "b"])$velocityCount:$foreach.index:$foreach.count:$x #end`, `1:0:1:a 2:1:2:b `},
	{"foreach map", `#set($m = {"a": 1, "b": 2})#foreach($k in $m.keySet())$k#end`, `ab`},
	{"foreach map values", `#set($m = {"a": 1, "b": 2})#foreach($v in $m)$v#end`, `12`},
	{"foreach break", `#foreach($i in [1..10])#if($i > 3)#break#end$i#end`, `123`},
	{"foreach 1000 cap", `#set($c = 0)#foreach($i in [1..5000])#set($c = $c + 1)#end$c`, `1000`},
	{"foreach json", `#set($all = $input.path('$.data.list'))#foreach($x in $all)$x;#end`, `1;2;3;`},
	{"foreach restores var", `#set($x = "outer")#foreach($x in [1])#end$x`, `outer`},
	{"foreach lines", "[\n#foreach($x in [1,2])\n  \"$x\"#if($foreach.hasNext),#end\n#end\n]", "[\n  \"1\",\n  \"2\"\n]"},
	{"range down", `#foreach($i in [3..1])$i#end`, `321`},
	{"set null keeps", `#set($a = "k")#set($a = $nope)$a`, `k`},
	{"set map key", `#set($m = {})#set($m.x = 1)#set($m['y'] = "two")$m $m.size()`, `{x=1, y=two} 2`},
	{"set list item", `#set($l = [1,2])#set($l[0] = 9)$l`, `[9, 2]`},
	{"directive alone on line", "a\n  #set($x = 1)\n  b$x\n", "a\n  b1\n"},
	{"comments", "a## line\nb#* block\n *#c\n## whole line\nd", "abc\nd"},
	{"comment eats newline", "#foreach($x in [1,2])$x##\n#end", "12"},

	// Arithmetic and literals.
	{"arith", `#set($a = 7)$a $a.toString() #set($b = $a / 2)$b #set($c = $a % 4)$c #set($d = $a * 1.5)$d #set($e = -$a + 1)$e`, `7 7 3 3 10.5 -6`},
	{"float render", `#set($f = 2.0 * 1)$f #set($g = 1.0 / 4)$g`, `2.0 0.25`},
	{"div zero", `#set($z = 1)#set($z = 1 / 0)$z`, `1`},
	{"string plus is null", `#set($s = "x")#set($s = "a" + "b")$s`, `x`},
	{"string interp", `#set($n = "World")#set($g = "Hello $n!")$g #set($lit = 'no $n')$lit`, `Hello World! no $n`},
	{"list literal", `#set($l = [1, "two", [3], {"k": true}])$l $l.size() $l.get(1) $l[2][0]`, `[1, two, [3], {k=true}] 4 two 3`},
	{"map literal", `#set($m = {"a": 1, "b": "x"})$m.a $m['b'] $m.get("a") $m.containsKey('b') $m.isEmpty()`, `1 x 1 true false`},
	{"equality", `#if("1" == 1)a#end#if(1 == 1.0)b#end#if("x" != "y")c#end#if($nope == $nope2)d#end`, `abcd`},
	{"compare strings", `#if("a" < "b")y#end`, `y`},

	// String methods.
	{"string methods", `#set($s = " Hello World ")$s.trim().toLowerCase() $s.trim().toUpperCase() $s.length() $s.isEmpty() $s.contains("World") $s.trim().startsWith("He") $s.trim().substring(6) $s.trim().substring(0, 5)`,
		`hello world HELLO WORLD 13 false true true World Hello`},
	{"replaceAll groups", `#set($s = "a-b-c")$s.replaceAll("-", "+") $s.replaceAll("(\w)", "<$1>") $s.replace("-", "") $s.replaceFirst("-", "_")`, `a+b+c <a>-<b>-<c> abc a_b-c`},
	{"equals", `#set($s = "x")$s.equals("x") $s.equals("y") $s.equalsIgnoreCase("X")`, `true false true`},
	{"split", `#set($s = "a,b,,c,,")#set($p = $s.split(","))$p $p.size()`, `[a, b, , c] 4`},
	{"matches", `#set($s = "abc123")$s.matches("[a-z]+\d+") $s.matches("\d+")`, `true false`},
	{"substring bad", `#set($s = "abc")[$s.substring(5)]`, `[$s.substring(5)]`},
	{"indexOf", `#set($s = "héllo")$s.indexOf("l") $s.charAt(1) $s.length()`, `2 é 5`},

	// $util.
	{"escapeJavaScript", "$util.escapeJavaScript('\"/\\ é 😀\tx\n') $util.escapeJavaScript($input.path('$.data.msg'))",
		`\"\/\\ \u00E9 \uD83D\uDE00\tx\n it\'s \"here\"`},
	{"parseJson", `#set($o = $util.parseJson('{"a":{"b":[1,"x"]}}'))$o.a.b[1] $o.a.b.size()`, `x 2`},
	{"urlEncode", `$util.urlEncode("a b&c=d/é*~")`, `a+b%26c%3Dd%2F%C3%A9*%7E`},
	{"urlDecode", `$util.urlDecode("a+b%26c")`, `a b&c`},
	{"base64", `$util.base64Encode("hello") $util.base64Decode("aGVsbG8=")`, `aGVsbG8= hello`},
	{"base64 bad", `[$util.base64Decode("!!")]`, `[]`},
}

func TestRender(t *testing.T) {
	for _, tc := range renderCases {
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

func TestParseErrors(t *testing.T) {
	cases := []struct{ tmpl, want string }{
		{"#if($a)x", "1:1: #if has no #end"},
		{"a\n#foreach($x in $l)x", "2:1: #foreach has no #end"},
		{"x#end", "1:2: #end without a matching #if"},
		{"#else", "#else without a matching"},
		{"#set($a 1)", "1:9: #set expects = after $a"},
		{"#set(a = 1)", "#set needs a variable"},
		{"#set($a = 1", "#set(...) is not closed"},
		{"#set($a = )", "expected a value"},
		{"#set($a = foo)", `unexpected word "foo"`},
		{"#if", "#if must be followed by ("},
		{"#foreach($x of $l)#end", "expects 'in'"},
		{"#* open", "block comment #* is not closed"},
		{"${a", "${a is not closed"},
		{"${", "${ must be followed by a name"},
		{"$a.b('x'", "( is not closed"},
		{"#set($a = 'x)", "string is not closed"},
		{"#set($a = [1, 2)", "expected , or ]"},
		{"#set($a = {1: 2)", "expected , or }"},
		{"#macro(x)#end", "#macro is not supported"},
		{"#if(1)#else#elseif(2)#end", "#elseif after #else"},
		{"#set($a.b() = 1)", "cannot assign to a method call"},
		{`#set($a = "x${b")`, "in string: ${b is not closed"},
		{strings.Repeat("#if(1)", 300), "nested more than"},
		{"#set($a = " + strings.Repeat("(", 1000), "nested more than"},
		{"#set($a = " + strings.Repeat("!", 1000), "nested more than"},
		{"#set($a = " + strings.Repeat("[", 1000), "nested more than"},
	}
	for _, tc := range cases {
		_, err := Parse(tc.tmpl)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%.40q) = %v, want a *SyntaxError containing %q", tc.tmpl, err, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%.40q) error = %q, want it to contain %q", tc.tmpl, err, tc.want)
		}
	}
	if _, err := Parse(strings.Repeat("x", MaxTemplateBytes+1)); err == nil {
		t.Error("Parse of an over-size template: no error")
	}
}

func TestRenderLimits(t *testing.T) {
	cases := []struct {
		tmpl string
		want error
	}{
		{`#foreach($i in [1..1000])#foreach($j in [1..1000])#foreach($k in [1..1000])x#end#end#end`, ErrTooMuchWork},
		{`#set($s = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")#foreach($i in [1..30])#set($s = "$s$s")#end$s`, ErrOutputTooLarge},
		{`#foreach($i in [1..1000])#foreach($j in [1..1000])$input.body#end#end`, ErrOutputTooLarge},
		// A map that contains itself twice: printing it must not take exponential time.
		{`#set($m = {})#set($m.a = $m)#set($m.b = $m)$m`, ErrOutputTooLarge},
		{`#set($s = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")#foreach($i in [1..14])#set($s = "$s$s")#end#foreach($i in [1..1000])#foreach($j in [1..1000])#if($s.contains("y"))#end#end#end`, ErrOutputTooLarge},
	}
	for _, tc := range cases {
		tmpl, err := Parse(tc.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tmpl.Render(testInput); !errors.Is(err, tc.want) {
			t.Errorf("Render(%.50q) error = %v, want %v", tc.tmpl, err, tc.want)
		}
	}
}

func TestRenderNilInputAndNonJSONBody(t *testing.T) {
	tmpl, err := Parse(`[$input.body][$input.json('$.a')][$input.path('$')][$context.connectionId][$input.params('x')]`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Render(nil)
	if err != nil || got != `[][][][][]` {
		t.Errorf("Render(nil) = %q, %v", got, err)
	}
	got, err = tmpl.Render(&Input{Body: "not json"})
	if err != nil || got != `[not json][][not json][][]` {
		t.Errorf("Render(non-JSON body) = %q, %v", got, err)
	}
}

// TestRenderConcurrent renders one template from many goroutines (run with -race).
func TestRenderConcurrent(t *testing.T) {
	tmpl, err := Parse(`#set($m = {})#set($m.k = $input.path('$.n'))$m.k $input.body.replaceAll("[0-9]", "#")`)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 50; i++ {
				body := `{"n":` + strings.Repeat("7", i%5+1) + `}`
				got, err := tmpl.Render(&Input{Body: body})
				want := strings.Repeat("7", i%5+1) + ` {"n":` + strings.Repeat("#", i%5+1) + `}`
				if err == nil && got != want {
					err = errors.New("got " + got + ", want " + want)
				}
				if err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}
