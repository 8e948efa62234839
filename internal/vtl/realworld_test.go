package vtl

import (
	"encoding/json"
	"testing"
)

// realWorldBody is a client message that templates turn into an array for a backend.
const realWorldBody = `{"action":"order","items":[{"id":"a1","qty":2,"note":"it's \"fine\""},{"id":"b2","qty":0},{"id":"c3","qty":5}]}`

// realWorldCases are templates in the style of real API Gateway and AppSync mapping templates
// that build JSON arrays. Each output must be the exact text and valid JSON.
var realWorldCases = []struct {
	name, tmpl, want string
}{
	{"foreach hasNext commas", `#set($items = $input.path('$.items'))
{
  "connectionId": "$context.connectionId",
  "items": [
#foreach($it in $items)
    {"id": "$it.id", "qty": $it.qty, "note": "$util.escapeJavaScript($!it.note).replaceAll("\\'", "'")"}#if($foreach.hasNext),#end
#end
  ]
}`, `{
  "connectionId": "L0SM9cOFvHcCIhw=",
  "items": [
    {"id": "a1", "qty": 2, "note": "it's \"fine\""},
    {"id": "b2", "qty": 0, "note": ""},
    {"id": "c3", "qty": 5, "note": ""}
  ]
}`},
	{"list add then second loop", `#set($ids = [])
#foreach($it in $input.path('$.items'))
#if($it.qty > 0)
#set($ignored = $ids.add("""$it.id"""))
#end
#end
{"ids": [#foreach($id in $ids)$id#if($foreach.hasNext),#end#end], "count": $ids.size()}`,
		`{"ids": ["a1","c3"], "count": 2}`},
	{"appsync qr", `#set($keys = [])
#foreach($it in $input.path('$.items'))
$util.qr($keys.add({"id": $it.id, "qty": $it.qty}))
#end
#set($req = {"table": "orders", "keys": $keys})
$util.qr($req.put("action", $input.path('$.action')))
{"table": "$req.table", "action": "$req.action", "keys": [#foreach($k in $req.keys){"id": "$k.id", "qty": $k.qty}#if($foreach.hasNext), #end#end]}`,
		"\n\n\n\n" + `{"table": "orders", "action": "order", "keys": [{"id": "a1", "qty": 2}, {"id": "b2", "qty": 0}, {"id": "c3", "qty": 5}]}`},
	// $input.path gives a copy: changing it leaves the body as the next calls read it.
	{"input path is a copy", `#set($l = $input.path('$.items'))$util.qr($l.remove(1)) [$l.size(), $input.path('$.items').size()]`, ` [2, 3]`},
}

func TestRealWorldTemplates(t *testing.T) {
	in := *testInput
	in.Body = realWorldBody
	for _, tc := range realWorldCases {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := Parse(tc.tmpl)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := tmpl.Render(&in)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != tc.want {
				t.Errorf("Render\n got: %s\nwant: %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("output is not valid JSON: %s", got)
			}
		})
	}
}
