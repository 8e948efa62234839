package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const templates = "../../testdata/templates"

// run is Main with captured output.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// goldenWarnings turns a case's warnings.txt into what the CLI prints on stderr.
func goldenWarnings(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "warnings.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var s strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l != "" {
			s.WriteString("warning: " + strings.TrimPrefix(l, "[blocking] ") + "\n")
		}
	}
	return s.String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The tutorial template imports to its golden config, with its golden warnings each once on
// stderr, and the output loads with `wsgate validate`.
func TestImportTutorial(t *testing.T) {
	dir := filepath.Join(templates, "tutorial")
	// Flags after the template, as users type them (the golden params.json has these).
	code, out, errs := run(t, "import", filepath.Join(dir, "template.yaml"),
		"--function", "ConnectFunction=http://127.0.0.1:9001", "--function=EchoFunction=http://127.0.0.1:9002")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if want := readFile(t, filepath.Join(dir, "wsgate.yaml")); out != want {
		t.Errorf("stdout:\n%s\nwant the golden wsgate.yaml:\n%s", out, want)
	}
	if want := goldenWarnings(t, dir); errs != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errs, want)
	}

	file := filepath.Join(t.TempDir(), "wsgate.yaml")
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, vout, verr := run(t, "validate", "--config", file); code != 0 || !strings.HasSuffix(vout, ": ok\n") {
		t.Fatalf("validate the imported config: exit %d\n%s%s", code, vout, verr)
	}
}

// Every golden case imports through the CLI to the same config as through the package, with
// the flags of its params.json, and flags may come before the template.
func TestImportGoldenCasesThroughCLI(t *testing.T) {
	cases := map[string][]string{
		"http-connectionid": nil,
		"dotnetify-like":    nil,
		"intrinsics": {"--parameter", "Env=prod", "--parameter", "Timeout=2500", "--stage", "prod-stage",
			"--region", "cn-north-1", "--stack-name", "mystack"},
		"request-authorizer": {"--function", "ws-authorizer=http://127.0.0.1:9001", "--region", "eu-west-1", "--account-id", "111122223333"},
		"dynamodb-standin": {"--standin", "ConnectIntegration=http://127.0.0.1:8000/connections",
			"--standin", "DisconnectIntegration=http://127.0.0.1:8000/connections/delete",
			"--standin", "SyncIntegration=http://127.0.0.1:8001/sfn",
			"--function", "DefaultFunction=http://127.0.0.1:9001", "--stack-name", "samples", "--region", "us-west-2"},
	}
	for name, flags := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(templates, name)
			args := append(append([]string{"import"}, flags...), filepath.Join(dir, "template.yaml"))
			code, out, errs := run(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if want := readFile(t, filepath.Join(dir, "wsgate.yaml")); out != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
			}
			if want := goldenWarnings(t, dir); errs != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", errs, want)
			}
		})
	}
}

// A template with AWS service integrations imports as it is (issue 10): they call the
// service, no stand-in needed.
func TestImportAWSIntegrations(t *testing.T) {
	dir := filepath.Join(templates, "dynamodb")
	code, out, errs := run(t, "import", filepath.Join(dir, "template.yaml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if want := readFile(t, filepath.Join(dir, "wsgate.yaml")); out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if want := goldenWarnings(t, dir); errs != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errs, want)
	}
}

// serve --template refuses an AWS integration of a service wsgate cannot call before it
// listens, naming the integration, the URI and what is supported.
func TestServeTemplateUnsupportedService(t *testing.T) {
	tmpl := filepath.Join(t.TempDir(), "template.yaml")
	src := readFile(t, filepath.Join(templates, "dynamodb", "template.yaml"))
	src = strings.Replace(src, "dynamodb:action/DeleteItem", "glacier:action/UploadArchive", 1)
	if err := os.WriteFile(tmpl, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "serve", "--template", tmpl, "--listen", "127.0.0.1:0")
	for _, want := range []string{"DisconnectIntegration", "arn:aws:apigateway:us-east-1:glacier:action/UploadArchive", "wsgate calls dynamodb, events", "--standin DisconnectIntegration="} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr does not say %q:\n%s", code, want, stderr)
		}
	}
}

func TestImportFlags(t *testing.T) {
	conn := filepath.Join(templates, "http-connectionid", "template.yaml")
	tut := filepath.Join(templates, "tutorial", "template.yaml")
	intr := filepath.Join(templates, "intrinsics", "template.yaml")
	tests := []struct {
		name    string
		args    []string
		code    int
		out     []string // in stdout
		notOut  []string
		errText []string // in stderr
	}{
		{name: "parameter overrides a default", args: []string{conn, "--parameter", "BackendUrl=http://10.1.2.3:8080"},
			out: []string{"uri: http://10.1.2.3:8080/connect\n"}, notOut: []string{"127.0.0.1:3000/connect"}},
		{name: "parameter the template does not declare", args: []string{conn, "--parameter", "Nope=1"}, code: 1,
			errText: []string{"Nope"}},
		{name: "parameter without =", args: []string{conn, "--parameter", "BackendUrl"}, code: 1,
			errText: []string{`"BackendUrl": write Name=Value`}},
		{name: "function by logical id and by FunctionName", args: []string{tut,
			"--function", "EchoFunction=http://127.0.0.1:7001", "--function", "wsgate-disconnect=http://127.0.0.1:7002"},
			out:     []string{"uri: EchoFunction\n    endpoint: http://127.0.0.1:7001\n", "uri: wsgate-disconnect\n    endpoint: http://127.0.0.1:7002\n"},
			errText: []string{`warning: ConnectFunction: no --function ConnectFunction=URL given and wsgate cannot run the function here`}},
		{name: "stack name changes a FunctionName", args: []string{tut, "--stack-name", "chat", "--function", "chat-disconnect=http://127.0.0.1:7002"},
			out: []string{"uri: chat-disconnect\n    endpoint: http://127.0.0.1:7002\n"}},
		{name: "function that names nothing", args: []string{tut, "--function", "Missing=http://127.0.0.1:1"}, code: 1,
			errText: []string{"--function Missing: no function in the template"}},
		{name: "standin on a non-AWS integration", args: []string{tut, "--standin", "EchoInteg=http://127.0.0.1:1"}, code: 1,
			errText: []string{"--standin EchoInteg"}},
		{name: "several stages need --stage", args: []string{intr}, code: 1, errText: []string{"give --stage NAME"}},
		{name: "stage picks one", args: []string{intr, "--stage", "other"}, out: []string{"stage: other\n"},
			errText: []string{"warning: DevStage: stage dev-stage is not served"}},
		{name: "no template", args: nil, code: 1, errText: []string{"usage: wsgate import template.yaml"}},
		{name: "two templates", args: []string{conn, tut}, code: 1, errText: []string{"unexpected"}},
		{name: "missing file", args: []string{"nope.yaml"}, code: 1, errText: []string{"cannot read template"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(t, append([]string{"import"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, errs)
			}
			for _, s := range tc.out {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tc.notOut {
				if strings.Contains(out, s) {
					t.Errorf("stdout has %q:\n%s", s, out)
				}
			}
			for _, s := range tc.errText {
				if !strings.Contains(errs, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errs)
				}
			}
		})
	}
}

// Template flags without --template are a mistake, not silently ignored.
func TestServeTemplateFlagsNeedTemplate(t *testing.T) {
	err := serve(context.Background(), []string{"--function", "A=http://127.0.0.1:1"}, &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "go with --template") {
		t.Fatalf("err = %v", err)
	}
	err = serve(context.Background(), []string{"--config", "a.yaml", "--template", "b.yaml"}, &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("err = %v", err)
	}
}
