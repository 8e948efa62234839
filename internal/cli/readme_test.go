package cli

// The README's tour, executed: every fenced block marked "sh test" runs with bash, in order,
// from the repository's root, against the binary the first block builds and a gateway it
// serves, with a real WebSocket client holding the connection the blocks push to.
//
// Two substitutions, both said here: the gateway listens on a free port instead of 8080 (every
// "127.0.0.1:8080" in the blocks is rewritten to it, and wsgate commands get it as
// $WSGATE_ENDPOINT, so a busy 8080 on a CI machine cannot fail
// the run), and the placeholder PASTE-YOUR-CONNECTION-ID= is replaced by the live connection's
// id, as the reader does. A block that calls the AWS CLI runs with the first `aws` on PATH whose
// `aws --version` is version 2 (the flags are v2's): a v1 found earlier on PATH (a pyenv or pip
// shim) is passed over by putting the v2's directory first. With no v2 anywhere on PATH the block
// is skipped with a log line, or fails the test when WSGATE_REQUIRE_AWS_CLI=1 (.ci/run sets it,
// after installing Debian's awscli, which is v2).

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// readmeBlocks returns the bodies of the README's ```sh test blocks, in order.
func readmeBlocks(t *testing.T, readme string) []string {
	t.Helper()
	var blocks []string
	var cur []string
	in := false
	for _, line := range strings.Split(readme, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case !in && trimmed == "```sh test":
			in, cur = true, nil
		case in && trimmed == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n"))
		case in:
			cur = append(cur, strings.TrimPrefix(line, "   ")) // the tour's list indentation
		}
	}
	return blocks
}

func TestREADMEBlocks(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(t, string(readme))
	if len(blocks) < 4 || !strings.Contains(blocks[0], "go build -o ./wsgate ./cmd/wsgate") {
		t.Fatalf("the README has %d 'sh test' blocks, the first not the build step:\n%q", len(blocks), blocks)
	}
	// The two first commands stay as they were.
	if !strings.Contains(string(readme), "```sh\ngo run ./cmd/wsgate serve ") || !strings.Contains(string(readme), "\ngo test -race -count=1 ./... ") {
		t.Error("the README's two first commands changed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	work := t.TempDir() // empty AWS CLI config and credentials files
	run := func(block string) (string, error) {
		t.Helper()
		script := strings.ReplaceAll(block, "127.0.0.1:8080", addr)
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute) // a cold go build on a loaded machine
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "WSGATE_ENDPOINT=http://"+addr+"/dev", "AWS_CONFIG_FILE="+filepath.Join(work, "none"),
			"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(work, "none"), "AWS_PAGER=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// 1. The build block, to the letter.
	if out, err := run(blocks[0]); err != nil || !strings.HasPrefix(out, "wsgate ") {
		t.Fatalf("build block: %v\n%s", err, out)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(root, "wsgate")) })

	// 2. The gateway the tour talks to, and a client holding a connection.
	srv := exec.Command(filepath.Join(root, "wsgate"), "serve", "--listen", addr)
	srv.Dir = root
	logs := &harness.Buffer{}
	srv.Stderr = logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "wsgate listening") {
		if time.Now().After(deadline) {
			t.Fatalf("wsgate did not start:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c := dialWS(t, "ws://"+addr+"/dev", nil)
	sendWS(t, c, `{"action":"hello","text":"hi"}`)
	var hello struct{ ConnectionID string }
	if err := json.Unmarshal([]byte(readWS(t, c)), &hello); err != nil || hello.ConnectionID == "" {
		t.Fatalf("the demo's answer has no connectionId: %v", err)
	}

	awsBin, awsVersion := awsCLIv2()
	awsV2 := awsBin != ""
	awsDir := filepath.Join(work, "awscli") // holds only the v2 CLI, put first on the AWS blocks' PATH
	switch {
	case awsV2:
		if err := os.MkdirAll(awsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(awsBin, filepath.Join(awsDir, "aws")); err != nil {
			t.Fatal(err)
		}
		t.Logf("AWS CLI blocks run with %s: %s", awsBin, awsVersion)
	case os.Getenv("WSGATE_REQUIRE_AWS_CLI") == "1":
		t.Fatalf("WSGATE_REQUIRE_AWS_CLI=1 but no AWS CLI v2 is on PATH (%s): the README's AWS CLI block cannot run (Debian: apt-get install awscli)", awsVersion)
	default:
		t.Logf("no AWS CLI v2 on PATH (%s): the README's AWS CLI block is SKIPPED; the wsgate send block pushes instead", awsVersion)
	}
	news := regexp.MustCompile(`--data '([^']*)'|send -- "\$CONNECTION_ID" '([^']*)'`)
	for i, b := range blocks[1:] {
		if strings.Contains(b, "aws ") && !awsV2 {
			continue
		}
		if strings.Contains(b, "CONNECTION_ID='") && !strings.Contains(b, "PASTE-YOUR-CONNECTION-ID=") {
			t.Errorf("block %d sets CONNECTION_ID without the visible placeholder", i+2)
		}
		script := strings.ReplaceAll(b, "PASTE-YOUR-CONNECTION-ID=", hello.ConnectionID)
		if strings.Contains(b, "aws ") {
			script = "PATH=" + awsDir + ":$PATH\n" + script // the v2 CLI, even behind a v1 shim
		}
		out, err := run(script)
		if err != nil {
			t.Fatalf("block %d failed: %v\n%s\n%s", i+2, err, b, out)
		}
		t.Logf("block %d ok:\n%s", i+2, out)
		if strings.Contains(b, "connections list") && !strings.Contains(out, hello.ConnectionID) {
			t.Errorf("connections list does not show the live connection %s:\n%s", hello.ConnectionID, out)
		}
		// Every push in the block reaches the socket.
		for _, m := range news.FindAllStringSubmatch(b, -1) {
			want := m[1] + m[2]
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, got, err := c.Read(ctx)
			cancel()
			if err != nil || string(got) != want {
				t.Errorf("block %d: the socket got %q (%v), want %q", i+2, got, err, want)
			}
		}
	}
	os.Remove(filepath.Join(root, "wsgate.yaml"))
}

// awsCLIv2 returns the first `aws` on PATH whose `aws --version` is the AWS CLI version 2, and
// that version line; with none, "" and the versions found.
func awsCLIv2() (bin, version string) {
	var seen []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		bin := filepath.Join(d, "aws")
		if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
		cancel()
		v := strings.TrimSpace(string(out))
		if err == nil && strings.HasPrefix(v, "aws-cli/2.") {
			return bin, v
		}
		seen = append(seen, fmt.Sprintf("%s: %q", bin, v))
	}
	if len(seen) == 0 {
		return "", "no aws on PATH"
	}
	return "", strings.Join(seen, "; ")
}
