package cfn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLocalFunctions(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmpl := `Globals:
  Function:
    Runtime: nodejs18.x
    Timeout: 7
    Environment: {Variables: {SHARED: g, OVER: g}}
` + minimal + `  Sam:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: go1.x}
    Properties:
      Runtime: provided.al2023
      CodeUri: src/
      MemorySize: 512
      ReservedConcurrentExecutions: 3
      Environment: {Variables: {OVER: f, N: 1}}
  Inline:
    Type: AWS::Lambda::Function
    Properties: {FunctionName: inline-fn, Runtime: python3.12, Handler: index.handler, Code: {ZipFile: "def handler(e, c): return 1"}}
  S3:
    Type: AWS::Lambda::Function
    Properties: {Runtime: python3.12, Handler: index.handler, Code: {S3Bucket: b, S3Key: k}}
  A: {Type: AWS::ApiGatewayV2::Integration, Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt Sam.Arn}}
  B: {Type: AWS::ApiGatewayV2::Integration, Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt Inline.Arn}}
  C: {Type: AWS::ApiGatewayV2::Integration, Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt S3.Arn}}
`
	file := filepath.Join(dir, "template.yaml")
	cfg, warns, err := Import(file, []byte(tmpl), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sam, ok := cfg.Functions["Sam"]
	if !ok || sam.Runtime != "provided.al2023" || sam.CodeURI != filepath.Join(dir, "src") || sam.Timeout.D() != 7*time.Second ||
		sam.MemorySize != 512 || sam.Concurrency != 3 || sam.BuildMethod != "go1.x" ||
		sam.Environment["SHARED"] != "g" || sam.Environment["OVER"] != "f" || sam.Environment["N"] != "1" {
		t.Errorf("Sam = %+v", sam)
	}
	in, ok := cfg.Functions["inline-fn"]
	if !ok || in.InlineCode != "def handler(e, c): return 1" || in.Handler != "index.handler" || in.Timeout != 0 {
		t.Errorf("inline-fn = %+v (functions %v)", in, cfg.Functions)
	}
	if cfg.Integrations["B"].URI != "inline-fn" {
		t.Errorf("integration B calls %q", cfg.Integrations["B"].URI)
	}
	if _, ok := cfg.Functions["S3"]; ok {
		t.Error("S3 code became a local function")
	}
	if w := renderWarnings(warns); !strings.Contains(w, "S3: no --function S3=URL given and wsgate cannot run the function here (its Code is in S3)") {
		t.Errorf("warnings:\n%s", w)
	}
	// A runtime wsgate cannot run is an error at its line, naming --function.
	javaT := minimal + `  J:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: java21
      Handler: x
      Code: {ZipFile: x}
  A: {Type: AWS::ApiGatewayV2::Integration, Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt J.Arn}}
`
	_, _, err = Import("t.yaml", []byte(javaT), Options{})
	if err == nil || !strings.Contains(err.Error(), "t.yaml:12: Resources.J.Properties.Runtime: function J has Runtime java21, which wsgate cannot run") ||
		!strings.Contains(err.Error(), "--function J=URL") {
		t.Errorf("java: %v", err)
	}
	// ... unless --function points it elsewhere.
	if _, _, err := Import("t.yaml", []byte(javaT), Options{Functions: map[string]string{"J": "http://rie"}}); err != nil {
		t.Errorf("java with --function: %v", err)
	}
}
