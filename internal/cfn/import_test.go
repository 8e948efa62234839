package cfn

import (
	"errors"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/config"
)

// minimal is a valid template to which cases append resources.
const minimal = `
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Backend:
    Type: AWS::ApiGatewayV2::Integration
    Properties: {ApiId: !Ref Api, IntegrationType: HTTP_PROXY, IntegrationUri: http://127.0.0.1:3000}
`

// A function that takes a list of any length, given something else, says so (it used to say
// "takes a list of -1 items").
func TestListArgumentErrors(t *testing.T) {
	for _, tc := range []struct{ conditions, key, want string }{
		{"", "!FindInMap M", "Resources.R.Properties.RouteKey.Fn::FindInMap: Fn::FindInMap takes a list"},
		{"Conditions:\n  C: !Or x\n", "!If [C, a, b]", "Conditions.C.Fn::Or: Fn::Or takes a list"},
	} {
		src := tc.conditions + minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: " + tc.key + "}\n"
		_, _, err := Import("t.yaml", []byte(src), Options{})
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to end in %q", tc.key, err, tc.want)
		}
	}
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name string
		tmpl string
		opts Options
		want string // substring of the error, which starts with the file name
	}{
		{"empty", "  \n", Options{}, "t.yaml: empty template"},
		{"bad yaml", "Resources:\n  A: [\n", Options{}, "t.yaml: invalid YAML: line"},
		{"bad json", "{\n \"Resources\": {\n  \"A\": [1,\n }\n}", Options{}, "t.yaml:4: invalid JSON"},
		{"json trailing", `{"Resources": {}} x`, Options{}, "invalid JSON"},
		{"not a mapping", "- a\n- b\n", Options{}, "must be a mapping with a Resources section"},
		{"no resources", "Description: x\n", Options{}, "no Resources section"},
		{"no websocket api", "Resources:\n  H:\n    Type: AWS::ApiGatewayV2::Api\n    Properties: {ProtocolType: HTTP}\n", Options{}, "no AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET"},
		{"two apis", minimal + "  Api2:\n    Type: AWS::ApiGatewayV2::Api\n    Properties: {ProtocolType: WEBSOCKET}\n", Options{}, "t.yaml:10: Resources.Api2: a second WebSocket API"},
		{"no type", minimal + "  X:\n    Properties: {}\n", Options{}, "Resources.X: has no Type"},
		{"unknown ref", minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: !Ref Nope}\n", Options{},
			`t.yaml:11: Resources.R.Properties.RouteKey.Ref: Ref to "Nope": no parameter, resource or pseudo parameter`},
		{"unknown getatt", minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: !GetAtt Nope.Arn}\n", Options{}, `Fn::GetAtt: no resource "Nope"`},
		{"param without default", "Parameters:\n  P: {Type: String}\n" + minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: !Ref P}\n", Options{},
			"t.yaml:2: Parameters.P: has no Default; give --parameter P=VALUE"},
		{"unknown parameter option", minimal, Options{Parameters: map[string]string{"Nope": "1"}}, "--parameter Nope: the template declares no such parameter"},
		{"allowed values", "Parameters:\n  P: {Type: String, Default: a, AllowedValues: [a, b]}\n" + minimal, Options{Parameters: map[string]string{"P": "c"}}, `value "c" is not one of AllowedValues [a, b]`},
		{"allowed pattern", "Parameters:\n  P: {Type: String, Default: a1, AllowedPattern: '[a-z]+[0-9]'}\n" + minimal, Options{Parameters: map[string]string{"P": "1a"}}, "does not match AllowedPattern"},
		{"ssm parameter", "Parameters:\n  P: {Type: 'AWS::SSM::Parameter::Value<String>', Default: /my/param}\n" + minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: !Ref P}\n", Options{}, "SSM Parameter Store"},
		{"condition cycle", "Conditions:\n  A: !Condition B\n  B: !Not [!Condition A]\n" + minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Condition: A\n    Properties: {ApiId: !Ref Api, RouteKey: x}\n", Options{}, "refers to itself"},
		{"unknown condition", minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Condition: Nope\n    Properties: {ApiId: !Ref Api, RouteKey: x}\n", Options{}, `no condition named "Nope"`},
		{"select out of range", minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: !Select [3, [a, b]]}\n", Options{}, `Fn::Select index "3" is out of range for a list of 2`},
		{"import value", minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: !ImportValue shared}\n", Options{}, "replace it with a Parameter"},
		{"join of list", minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: !Join [',', [[a]]]}\n", Options{}, "Fn::Join can only join strings, got a list"},
		{"unknown tag", minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: !Bogus x}\n", Options{}, "unknown tag !Bogus"},
		{"sub stage variable", minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: !Sub 'a${stageVariables.x}'}\n", Options{}, "write ${!stageVariables.x}"},
		{"target unknown", minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: x, Target: integrations/Nope}\n", Options{}, `"integrations/Nope" does not name a AWS::ApiGatewayV2::Integration`},
		{"duplicate route key", minimal + "  R1:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: x}\n  R2:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: x}\n", Options{}, `t.yaml:14: Resources.R2.Properties.RouteKey: route key "x" is defined twice`},
		{"proxy not lambda", minimal + "  L:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: 'http://x/y'}\n", Options{}, "is not a Lambda function"},
		{"bad integration type", minimal + "  L:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties: {ApiId: !Ref Api, IntegrationType: SOAP, IntegrationUri: x}\n", Options{}, `"SOAP" is not an integration type`},
		{"timeout range", minimal + "  L:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties: {ApiId: !Ref Api, IntegrationType: HTTP_PROXY, IntegrationUri: 'http://x', TimeoutInMillis: 30000}\n", Options{}, "30000 is out of range; AWS allows 50 to 29000"},
		{"missing stage variable", minimal + "  L:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: 'arn:aws:lambda:us-east-1:1:function:${stageVariables.fn}'}\n", Options{}, "uses ${stageVariables.fn}, which the served stage does not define"},
		{"several stages", minimal + "  S1:\n    Type: AWS::ApiGatewayV2::Stage\n    Properties: {ApiId: !Ref Api, StageName: a}\n  S2:\n    Type: AWS::ApiGatewayV2::Stage\n    Properties: {ApiId: !Ref Api, StageName: b}\n", Options{}, "several stages (a, b); wsgate serves one: give --stage NAME"},
		{"unknown stage option", minimal + "  S1:\n    Type: AWS::ApiGatewayV2::Stage\n    Properties: {ApiId: !Ref Api, StageName: a}\n", Options{Stage: "z"}, "--stage z: the template has no such stage (stages: a)"},
		{"unknown function option", minimal, Options{Functions: map[string]string{"Fn": "http://x"}}, "--function Fn: no function in the template"},
		{"unknown standin", minimal, Options{Standins: map[string]string{"Nope": "http://x"}}, "--standin Nope: no integration has that logical id (integrations: Backend)"},
		{"standin on http", minimal, Options{Standins: map[string]string{"Backend": "http://x"}}, "--standin Backend: the integration is HTTP_PROXY, not an AWS service integration"},
		{"jwt authorizer", minimal + "  A:\n    Type: AWS::ApiGatewayV2::Authorizer\n    Properties: {ApiId: !Ref Api, AuthorizerType: JWT}\n", Options{}, `"JWT": WebSocket APIs take REQUEST authorizers`},
		{"missing route key", minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api}\n", Options{}, "Resources.R.Properties.RouteKey: is required for AWS::ApiGatewayV2::Route"},
		{"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n" + minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: !Join ['', *g]}\n", Options{}, "too complex"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := Import("t.yaml", []byte(tc.tmpl), tc.opts)
			if err == nil {
				t.Fatalf("no error; config %+v", cfg)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, want *Error: %v", err, err)
			}
			if !strings.HasPrefix(err.Error(), "t.yaml") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n  %v\nwant it to contain\n  %s", err, tc.want)
			}
		})
	}
}

// importOne imports minimal plus extra and fails the test on error.
func importOne(t *testing.T, extra string, o Options) (*config.Config, []Warning) {
	t.Helper()
	cfg, warns, err := Import("t.yaml", []byte(minimal+extra), o)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, warns
}

func TestIntrinsics(t *testing.T) {
	const params = "Parameters:\n  P: {Type: String, Default: pv}\n  L: {Type: CommaDelimitedList, Default: 'x, y,z'}\n  N: {Type: Number, Default: 7}\nMappings:\n  M:\n    top: {second: mapped, list: [m1, m2]}\nConditions:\n  T: !Equals [!Ref P, pv]\n  F: !Not [!Condition T]\n"
	tests := []struct {
		expr string
		want string
	}{
		{"!Ref P", "pv"},
		{"{Ref: N}", "7"},
		{"!Ref AWS::Region", "eu-central-1"},
		{"!Ref AWS::AccountId", "999"},
		{"!Ref AWS::StackName", "st"},
		{"!Ref AWS::Partition", "aws"},
		{"!Ref AWS::URLSuffix", "amazonaws.com"},
		{"!Ref Backend", "Backend"},
		{"!GetAtt Api.ApiEndpoint", "wss://Api.execute-api.eu-central-1.amazonaws.com"},
		{"{'Fn::GetAtt': [Api, ApiId]}", "Api"},
		{"!GetAtt [Api, !Join ['', [Api, Id]]]", "Api"},
		{"!Sub '${P}-${AWS::Region}-${!Keep}-${Api.ApiId}'", "pv-eu-central-1-${Keep}-Api"},
		{"!Sub ['${A}/${B}', {A: !Ref P, B: lit}]", "pv/lit"},
		{"{'Fn::Sub': 'x${P}'}", "xpv"},
		{"!Sub 'unterminated ${P'", "unterminated ${P"},
		{"!Join ['|', !Ref L]", "x|y|z"},
		{"!Join ['', [a, !Ref AWS::NoValue, b]]", "ab"},
		{"!Select [1, !Ref L]", "y"},
		{"!Select ['2', !Split [',', 'a,b,c']]", "c"},
		{"!If [T, yes, no]", "yes"},
		{"!If [F, yes, no]", "no"},
		{"{'Fn::If': [T, !Ref P, !GetAtt Nope.Arn]}", "pv"},
		{"!FindInMap [M, top, second]", "mapped"},
		{"!Join ['+', !FindInMap [M, top, list]]", "m1+m2"},
		{"!Base64 abc", "YWJj"},
		{"!Select [0, !GetAZs '']", "eu-central-1a"},
		{"!Length [a, b, c]", "3"},
		{"!ToJsonString {a: [1, true]}", `{"a":["1",true]}`},
		{"!If [T, !Equals [a, a], x]", "true"},
		{"!Or [!Condition F, !And [!Condition T, !Equals [1, '1']]]", "true"},
	}
	opts := Options{Region: "eu-central-1", AccountID: "999", StackName: "st"}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			doc := params + minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: " + tc.expr + "}\n"
			cfg, _, err := Import("t.yaml", []byte(doc), opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := cfg.Routes[tc.want]; !ok || len(cfg.Routes) != 1 {
				t.Fatalf("routes %v, want the one key %q", cfg.Routes, tc.want)
			}
		})
	}
}

func TestPartitionByRegion(t *testing.T) {
	for region, want := range map[string]string{"cn-northwest-1": "aws-cn", "us-gov-west-1": "aws-us-gov", "ap-south-1": "aws"} {
		cfg, _ := importOne(t, "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: !Ref AWS::Partition}\n", Options{Region: region})
		if _, ok := cfg.Routes[want]; !ok {
			t.Errorf("region %s: routes %v, want partition %s", region, cfg.Routes, want)
		}
	}
}

func TestLambdaTargets(t *testing.T) {
	const fn = "  Fn:\n    Type: AWS::Lambda::Function\n    Properties: {FunctionName: named, Runtime: provided.al2023}\n"
	tests := []struct {
		uri      string
		opts     Options
		wantURI  string
		endpoint string
		region   string
		warn     string
	}{
		{"!Sub 'arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations'", Options{Functions: map[string]string{"Fn": "http://rie"}}, "named", "http://rie", "", ""},
		{"!GetAtt Fn.Arn", Options{Functions: map[string]string{"named": "http://rie"}}, "named", "http://rie", "", ""},
		{"!Ref Fn", Options{}, "named", "", "", `Fn: no --function Fn=URL given and wsgate cannot run the function here (it has no CodeUri or inline code); calls go to the real AWS Lambda function "named" (Runtime provided.al2023)`},
		{"arn:aws:lambda:eu-west-1:1:function:other:prod", Options{}, "other:prod", "", "eu-west-1", `L.Properties.IntegrationUri: calls the AWS Lambda function "other", which is not in the template; give --function other=URL`},
		{"arn:aws:lambda:us-east-1:1:function:other", Options{Functions: map[string]string{"other": "http://o"}}, "other", "http://o", "", ""},
		{"'arn:aws:lambda:us-east-1:1:function:${stageVariables.fn}'", Options{Functions: map[string]string{"Fn": "http://rie"}}, "named", "http://rie", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			extra := fn + "  S:\n    Type: AWS::ApiGatewayV2::Stage\n    Properties: {ApiId: !Ref Api, StageName: s, StageVariables: {fn: named}}\n" +
				"  L:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: " + tc.uri + "}\n"
			cfg, warns := importOne(t, extra, tc.opts)
			in := cfg.Integrations["L"]
			if in.URI != tc.wantURI || in.Endpoint != tc.endpoint || in.Region != tc.region {
				t.Errorf("integration %+v, want uri %q endpoint %q region %q", in, tc.wantURI, tc.endpoint, tc.region)
			}
			got := renderWarnings(warns)
			if tc.warn == "" && got != "" || !strings.Contains(got, tc.warn) {
				t.Errorf("warnings:\n%s\nwant %q", got, tc.warn)
			}
		})
	}
}

func TestWarningsOnceEach(t *testing.T) {
	extra := "  Role1:\n    Type: AWS::IAM::Role\n  Role2:\n    Type: AWS::IAM::Role\n" +
		"  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: $connect, AuthorizationType: AWS_IAM, Bogus: 1, Gone: !Ref AWS::NoValue}\n" +
		"  Other:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: elsewhere, RouteKey: x}\n"
	_, warns, err := Import("t.yaml", []byte("Rules: {}\nUnknownSection: 1\n"+minimal+extra), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := renderWarnings(warns)
	want := "Rules: rules (parameter assertions) are not evaluated; ignored\n" +
		"UnknownSection: unknown template section; ignored\n" +
		"Other.Properties.ApiId: belongs to API elsewhere, not the WebSocket API Api; ignored\n" +
		"R.Properties.Bogus: not supported; ignored\n" +
		"R.Properties.AuthorizationType: AWS_IAM is not enforced; $connect accepts unsigned connections\n" +
		"Role1, Role2: AWS::IAM::Role: not deployed by wsgate; Ref and Fn::GetAtt give the names and ARNs CloudFormation would\n"
	if got != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", got, want)
	}
}

func TestAuthorizerOnlyOnConnect(t *testing.T) {
	extra := "  Fn:\n    Type: AWS::Lambda::Function\n" +
		"  A:\n    Type: AWS::ApiGatewayV2::Authorizer\n    Properties: {ApiId: !Ref Api, AuthorizerType: REQUEST, AuthorizerUri: !GetAtt Fn.Arn, IdentitySource: 'route.request.header.A, route.request.querystring.b'}\n" +
		"  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: msg, AuthorizationType: CUSTOM, AuthorizerId: !Ref A, Target: !Sub 'integrations/${Backend}'}\n"
	cfg, warns := importOne(t, extra, Options{Functions: map[string]string{"Fn": "http://f"}})
	if cfg.Routes["msg"].Authorizer != "" {
		t.Errorf("route msg kept authorizer %q", cfg.Routes["msg"].Authorizer)
	}
	a := cfg.Authorizers["A"]
	if a.URI != "Fn" || a.Endpoint != "http://f" || len(a.IdentitySource) != 2 || a.IdentitySource[1] != "route.request.querystring.b" {
		t.Errorf("authorizer %+v", a)
	}
	if !strings.Contains(renderWarnings(warns), "R.Properties.AuthorizerId: authorizers run only on $connect, not on msg; ignored") {
		t.Errorf("warnings:\n%s", renderWarnings(warns))
	}
}

func TestDeploymentStageName(t *testing.T) {
	cfg, _ := importOne(t, "  D:\n    Type: AWS::ApiGatewayV2::Deployment\n    Properties: {ApiId: !Ref Api, StageName: fromdeploy}\n", Options{})
	if cfg.Stage != "fromdeploy" {
		t.Errorf("stage %q, want fromdeploy", cfg.Stage)
	}
	cfg, _ = importOne(t, "", Options{Stage: "chosen"})
	if cfg.Stage != "chosen" {
		t.Errorf("stage %q, want chosen", cfg.Stage)
	}
}

func TestWarningString(t *testing.T) {
	for w, want := range map[Warning]string{
		{Resource: "Api", Property: "ApiKeySelectionExpression", Message: "m"}: "Api.Properties.ApiKeySelectionExpression: m",
		{Resource: "A, B", Message: "m"}:                                       "A, B: m",
		{Property: "Rules", Message: "m"}:                                      "Rules: m",
	} {
		if got := w.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", w, got, want)
		}
	}
}

func TestBlockingError(t *testing.T) {
	if err := BlockingError([]Warning{{Resource: "A", Message: "m"}}); err != nil {
		t.Errorf("non-blocking warning gave %v", err)
	}
	err := BlockingError([]Warning{{Resource: "A", Property: "P", Message: "m", Blocking: true}})
	if err == nil || !strings.Contains(err.Error(), "A.Properties.P: m") {
		t.Errorf("BlockingError = %v", err)
	}
}

// AWS service integrations run as they are (issue 10): no stand-in needed, the role kept.
func TestAWSIntegrationImported(t *testing.T) {
	extra := "  Store:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties: {ApiId: !Ref Api, IntegrationType: AWS, CredentialsArn: 'arn:aws:iam::123456789012:role/r', IntegrationUri: !Sub 'arn:aws:apigateway:${AWS::Region}:sqs:path/123/queue'}\n"
	cfg, warns := importOne(t, extra, Options{})
	if err := BlockingError(warns); err != nil {
		t.Errorf("BlockingError = %v", err)
	}
	in := cfg.Integrations["Store"]
	if in.URI != "arn:aws:apigateway:us-east-1:sqs:path/123/queue" || in.CredentialsARN != "arn:aws:iam::123456789012:role/r" || in.Standin != "" {
		t.Errorf("integration %+v", in)
	}
	cfg, warns = importOne(t, extra, Options{Standins: map[string]string{"Store": "http://127.0.0.1:1/q"}})
	if err := BlockingError(warns); err != nil || cfg.Integrations["Store"].Standin != "http://127.0.0.1:1/q" {
		t.Errorf("with stand-in: err %v, integration %+v", err, cfg.Integrations["Store"])
	}
}

func TestAWSIntegrationUnsupportedService(t *testing.T) {
	extra := "  Store:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties: {ApiId: !Ref Api, IntegrationType: AWS, IntegrationUri: 'arn:aws:apigateway:us-east-1:glacier:action/UploadArchive'}\n"
	_, _, err := Import("t.yaml", []byte(minimal+extra), Options{})
	for _, want := range []string{"Resources.Store.Properties.IntegrationUri", "arn:aws:apigateway:us-east-1:glacier:action/UploadArchive", "dynamodb", "--standin Store="} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err %v, want it to contain %q", err, want)
		}
	}
}
