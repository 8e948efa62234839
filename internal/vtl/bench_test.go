package vtl

import "testing"

// dotnetifyTemplate is the $default request template of dotNetify's CloudFormation template
// (docs/aws-compatibility.md), rendered for every client message.
const dotnetifyTemplate = `{ "connectionId": "$context.connectionId", "payload": $input.body }`

func BenchmarkRenderDotNetify(b *testing.B) {
	tmpl, err := Parse(dotnetifyTemplate)
	if err != nil {
		b.Fatal(err)
	}
	in := &Input{
		Body:    `{"callType":"update_vm","vmId":"HelloWorld","value":"{\"FirstName\":\"Jane\",\"LastName\":\"Doe\"}"}`,
		Context: map[string]string{"connectionId": "L0SM9cOFvHcCIhw=", "requestTimeEpoch": "1700000000000"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tmpl.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderSfn(b *testing.B) {
	tmpl, err := Parse("#set($sfn_input=$util.escapeJavaScript($input.json(\"$.data\")).replaceAll(\"\\\\'\",\"'\"))\n" +
		`{"input": "{\"data\":$sfn_input, \"ConnectionID\":\"$context.connectionId\"}", "stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:x"}`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tmpl.Render(testInput); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderListBuild builds a list with $util.qr($l.add(...)) and renders it as a JSON
// array, as AppSync-style templates do.
func BenchmarkRenderListBuild(b *testing.B) {
	tmpl, err := Parse(realWorldCases[2].tmpl)
	if err != nil {
		b.Fatal(err)
	}
	in := *testInput
	in.Body = realWorldBody
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tmpl.Render(&in); err != nil {
			b.Fatal(err)
		}
	}
}
