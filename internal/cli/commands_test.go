package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/config"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// validate reports every error at once, each as file:line: key.path: what to write instead,
// and exits 1.
func TestValidateReportsEveryError(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(`stage: dev
routes:
  $default: { integration: nope }
integrations:
  app: { type: HTTP_PROXY, uri: "http://127.0.0.1:1/x", timeot: 5s }
limits:
  idleTimeout: ten minutes
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("validate", "--config", bad)
	if code != 1 {
		t.Fatalf("exit = %d, want 1; stderr:\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing on failure", stdout)
	}
	for _, want := range []string{
		regexp.QuoteMeta(bad) + `:3: routes\.\$default\.integration: .*nope`,
		regexp.QuoteMeta(bad) + `:5: integrations\.app\.timeot: .*timeout`,
		regexp.QuoteMeta(bad) + `:7: limits\.idleTimeout: .*(write|e\.g\.)`,
	} {
		if !regexp.MustCompile(want).MatchString(stderr) {
			t.Errorf("stderr lacks %s:\n%s", want, stderr)
		}
	}

	good := filepath.Join(t.TempDir(), "good.yaml")
	if err := os.WriteFile(good, config.Example(), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runCLI("validate", "--config", good); code != 0 || !strings.Contains(stdout, "ok") {
		t.Errorf("validate of the example: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, stderr := runCLI("validate"); code != 1 || !strings.Contains(stderr, "--config") {
		t.Errorf("validate without --config: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI("validate", "--config", filepath.Join(t.TempDir(), "missing.yaml")); code != 1 || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("validate of a missing file: exit %d, stderr %q", code, stderr)
	}
}

// validate fails on what serve would fail on (selection expression, templates, URIs), all at
// once with file:line: key, and on an empty file; the same config makes serve fail the same way.
func TestValidateChecksWhatServeBuilds(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(`routeSelectionExpression: $request.body.
routes:
  $connect: { integration: app }
  $default: { integration: tmpl }
integrations:
  app: { type: HTTP_PROXY, uri: "http://127.0.0.1:30x0/ws" }
  tmpl:
    type: HTTP
    uri: "https://<your-url-domain>/api/dotnetify/vm"
    requestTemplates:
      $default: "#if("
`), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wants := map[string][]string{
		bad: {
			`:1: routeSelectionExpression: .*empty key`,
			`:6: integrations\.app\.uri: .*port "30x0"`,
			`:9: integrations\.tmpl\.uri: .*placeholder <your-url-domain>`,
			`:11: integrations\.tmpl\.requestTemplates\.\$default: the template does not parse`,
		},
		empty: {`: the file is empty`},
	}
	for file, want := range wants {
		for _, cmd := range [][]string{{"validate", "--config", file}, {"validate", file}, {"serve", "--config", file, "--listen", "127.0.0.1:0"}} {
			code, _, stderr := runCLI(cmd...)
			if code != 1 {
				t.Errorf("%v: exit %d, want 1; stderr:\n%s", cmd, code, stderr)
			}
			for _, w := range want {
				if !regexp.MustCompile(regexp.QuoteMeta(file) + w).MatchString(stderr) {
					t.Errorf("%v: stderr lacks %s:\n%s", cmd, w, stderr)
				}
			}
		}
	}
}

// A template shipped with a placeholder URI (dotNetify's <your-url-domain>) is a load error
// naming the template's file and line, the key and the placeholder, not a 502 at every connect.
func TestTemplatePlaceholderIsLoadError(t *testing.T) {
	src, err := os.ReadFile("../../testdata/templates/dotnetify-like/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := regexp.MustCompile(`https?://[^"/]+(/api/dotnetify/vm)`).ReplaceAll(src, []byte("https://<your-url-domain>$1"))
	file := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(file, tmpl, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI("serve", "--template", file, "--listen", "127.0.0.1:0")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	line := 0
	for i, l := range strings.Split(string(tmpl), "\n") {
		if strings.Contains(l, "<your-url-domain>") {
			line = i + 1
			break
		}
	}
	want := regexp.QuoteMeta(file) + ":" + strconv.Itoa(line) + `: integrations\.\w+\.uri: .*placeholder <your-url-domain>`
	if !regexp.MustCompile(want).MatchString(stderr) {
		t.Errorf("stderr lacks %s:\n%s", want, stderr)
	}
}

// `config example` prints a config that loads, and it is the demo `serve` runs with no config.
func TestConfigExampleParses(t *testing.T) {
	code, stdout, stderr := runCLI("config", "example")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	cfg, err := config.Parse("example.yaml", []byte(stdout))
	if err != nil {
		t.Fatalf("the example does not parse: %v\n%s", err, stdout)
	}
	def := config.Default()
	if def.Listen != "127.0.0.1:8080" || def.Stage != "dev" || def.Routes["$default"].Integration == "" {
		t.Errorf("demo config: listen %q stage %q $default %+v; want 127.0.0.1:8080, dev and an answered $default",
			def.Listen, def.Stage, def.Routes["$default"])
	}
	if cfg.Listen != def.Listen || cfg.Stage != def.Stage || len(cfg.Routes) != len(def.Routes) {
		t.Errorf("example (listen %q, stage %q, %d routes) differs from the demo serve runs (%q, %q, %d routes)",
			cfg.Listen, cfg.Stage, len(cfg.Routes), def.Listen, def.Stage, len(def.Routes))
	}
	if code, _, _ := runCLI("config"); code != 1 {
		t.Errorf("`config` alone: exit %d, want 1", code)
	}
}

func TestVersionAndUsage(t *testing.T) {
	code, stdout, _ := runCLI("version")
	if code != 0 || !regexp.MustCompile(`^wsgate \S+\n$`).MatchString(stdout) {
		t.Errorf("version: exit %d, stdout %q", code, stdout)
	}
	old := Version
	Version = "v9.9.9"
	defer func() { Version = old }()
	if _, stdout, _ := runCLI("version"); stdout != "wsgate v9.9.9\n" {
		t.Errorf("version with -ldflags value: %q", stdout)
	}
	if code, _, stderr := runCLI(); code != 2 || !strings.Contains(stderr, "Usage:") {
		t.Errorf("no args: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI("frobnicate"); code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, stderr %q", code, stderr)
	}
	if code, stdout, _ := runCLI("help"); code != 0 || !strings.Contains(stdout, "wsgate serve") {
		t.Errorf("help: exit %d", code)
	}
}
