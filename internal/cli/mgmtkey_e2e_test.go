package cli

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/smithy-go"
)

// postAs posts to connection id through the real, unmodified AWS SDK for Go v2, signed with
// keyID/secret (unsigned when keyID is ""), and returns the SDK's error.
func postAs(t *testing.T, endpoint, id, keyID, secret string) error {
	t.Helper()
	var provider aws.CredentialsProvider = aws.AnonymousCredentials{}
	if keyID != "" {
		provider = credentials.NewStaticCredentialsProvider(keyID, secret, "")
	}
	api := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(endpoint), Region: "us-east-1", Credentials: provider, RetryMaxAttempts: 1,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(id), Data: []byte("from " + keyID + "/" + secret),
	})
	return err
}

// wantAPIError checks that err is the AWS error type code (as the SDK decodes it) with a
// message starting with msg.
func wantAPIError(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != code || !strings.HasPrefix(api.ErrorMessage(), msg) {
		t.Errorf("%s: %v, want %s %q...", what, err, code, msg)
	}
}

// serveTutorial runs the tutorial template with extra serve flags; its connect function hands
// out the ids of the connections it admits.
func serveTutorial(t *testing.T, extra ...string) (*served, <-chan string) {
	t.Helper()
	ids := make(chan string, 4)
	fnURL := invokeAPI(t, map[string]any{
		"ConnectFunction": func(req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			ids <- req.RequestContext.ConnectionID
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		},
		"EchoFunction":      echoHandler,
		"wsgate-disconnect": func() error { return nil },
	})
	args := append([]string{"--template", filepath.Join(templates, "tutorial", "template.yaml"),
		"--function", "ConnectFunction=" + fnURL, "--function", "EchoFunction=" + fnURL,
		"--function", "wsgate-disconnect=" + fnURL, "--parameter", "StageName=test"}, extra...)
	return startServe(t, args...), ids
}

// Issue 13 §5: `serve --template` takes management credentials from flags and from the
// environment. Once given, every caller must sign with them, loopback included: a wrong secret
// gets AWS's InvalidSignatureException (which the SDKs treat specially), an unknown key
// UnrecognizedClientException, no signature MissingAuthenticationTokenException. The start-up log
// names the mode. Before, template mode accepted any loopback caller whatever it signed with.
func TestServeTemplateManagementCredentials(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
		env   map[string]string
	}{
		{name: "flags", flags: []string{"--access-key-id", "AKIDLOCAL", "--secret-access-key", "s3cret"}},
		{name: "env", env: map[string]string{envAccessKeyID: "AKIDLOCAL", envSecretAccessKey: "s3cret"}},
		// Each half from its flag, else its variable: the secret stays out of the process list.
		{name: "flag and env", flags: []string{"--access-key-id", "AKIDLOCAL"}, env: map[string]string{envSecretAccessKey: "s3cret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			s, ids := serveTutorial(t, tc.flags...)
			c := dialWS(t, "ws://"+s.addr+"/test", nil)
			id := recv(t, ids, "the $connect invocation")
			endpoint := "http://" + s.addr + "/test"

			if err := postAs(t, endpoint, id, "AKIDLOCAL", "s3cret"); err != nil {
				t.Fatalf("right key: %v", err)
			}
			if got := readWS(t, c); got != "from AKIDLOCAL/s3cret" {
				t.Fatalf("frame %q", got)
			}
			wantAPIError(t, "wrong secret", postAs(t, endpoint, id, "AKIDLOCAL", "wrong"),
				"InvalidSignatureException", "The request signature we calculated does not match the signature you provided.")
			wantAPIError(t, "unknown key", postAs(t, endpoint, id, "AKIDOTHER", "s3cret"),
				"UnrecognizedClientException", "The security token included in the request is invalid.")
			wantAPIError(t, "unsigned", postAs(t, endpoint, id, "", ""),
				"MissingAuthenticationTokenException", "Missing Authentication Token")
			for _, want := range []string{`"mode":"signed"`, `"accessKeyId":"AKIDLOCAL"`} {
				if !strings.Contains(s.stderr.String(), want) {
					t.Errorf("start-up log lacks %s:\n%s", want, s.stderr)
				}
			}
		})
	}
}

// Without credentials the log says that loopback callers are served unchecked (what template
// mode did silently before).
func TestServeTemplateManagementLoopbackModeLogged(t *testing.T) {
	s, ids := serveTutorial(t)
	dialWS(t, "ws://"+s.addr+"/test", nil)
	id := recv(t, ids, "the $connect invocation")
	if err := postAs(t, "http://"+s.addr+"/test", id, "AKIDANY", "anything"); err != nil {
		t.Fatalf("loopback caller without configured credentials: %v", err)
	}
	if log := s.stderr.String(); !strings.Contains(log, `"mode":"loopback"`) || !strings.Contains(log, "WSGATE_ACCESS_KEY_ID") {
		t.Errorf("start-up log does not name the loopback mode and how to leave it:\n%s", log)
	}
}

// The key given to serve complements a config's keys, and replaces the config's entry with the
// same key id (the flag or variable wins over the file).
func TestServeConfigManagementCredentialsFromEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "wsgate.yaml")
	writeConfig(t, file, reloadConfig("m", `management:
  credentials:
    - { accessKeyId: AKIDFILE, secretAccessKey: filesecret }
    - { accessKeyId: AKIDLOCAL, secretAccessKey: oldsecret }
`))
	t.Setenv(envAccessKeyID, "AKIDLOCAL")
	t.Setenv(envSecretAccessKey, "s3cret")
	s := startServe(t, "--config", file)
	c := dialWS(t, "ws://"+s.addr+"/dev", nil)
	sendWS(t, c, "who")
	id := strings.Split(readWS(t, c), "|")[1]
	endpoint := "http://" + s.addr + "/dev"
	for _, k := range [][2]string{{"AKIDFILE", "filesecret"}, {"AKIDLOCAL", "s3cret"}} {
		if err := postAs(t, endpoint, id, k[0], k[1]); err != nil {
			t.Errorf("%s: %v", k[0], err)
		} else if got := readWS(t, c); got != "from "+k[0]+"/"+k[1] {
			t.Errorf("frame %q", got)
		}
	}
	wantAPIError(t, "the file's secret for the overridden key", postAs(t, endpoint, id, "AKIDLOCAL", "oldsecret"),
		"InvalidSignatureException", "The request signature we calculated")

	// The management commands sign with the same variables.
	if code, _, errs := runCLI("connections", "get", "--endpoint", endpoint, "--", id); code != 0 {
		t.Errorf("connections get signed from %s: exit %d: %s", envAccessKeyID, code, errs)
	}
}

// Half a key pair is refused at start, naming where the other half goes.
func TestServeManagementKeyHalf(t *testing.T) {
	t.Setenv(envAccessKeyID, "")
	t.Setenv(envSecretAccessKey, "")
	code, _, errs := runCLI("serve", "--access-key-id", "AKIDLOCAL", "--listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errs, "--secret-access-key or "+envSecretAccessKey) {
		t.Errorf("serve with only --access-key-id: exit %d: %s", code, errs)
	}
	t.Setenv(envSecretAccessKey, "s3cret")
	code, _, errs = runCLI("serve", "--template", filepath.Join(templates, "tutorial", "template.yaml"), "--listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errs, "--access-key-id or "+envAccessKeyID) {
		t.Errorf("serve with only %s: exit %d: %s", envSecretAccessKey, code, errs)
	}
}

// A reload that configures credentials where there were none makes every caller sign,
// loopback included, at once (and the log says so); one that removes them goes back. The config
// has a function wsgate runs, so it starts with a generated key (mode loopback+generated-key),
// which used to keep unsigned loopback callers served after such a reload.
func TestReloadSwitchesManagementMode(t *testing.T) {
	needBin(t, "node")
	t.Setenv(envAccessKeyID, "")
	t.Setenv(envSecretAccessKey, "")
	file := filepath.Join(t.TempDir(), "wsgate.yaml")
	const fn = `functions:
  idle: { runtime: nodejs20.x, handler: index.handler, inlineCode: "exports.handler = async () => ({statusCode: 200})" }
`
	writeConfig(t, file, reloadConfig("m", fn))
	s := startServe(t, "--config", file, "--watch-config")
	c := dialWS(t, "ws://"+s.addr+"/dev", nil)
	sendWS(t, c, "who")
	id := strings.Split(readWS(t, c), "|")[1]
	endpoint := "http://" + s.addr + "/dev"
	if err := postAs(t, endpoint, id, "", ""); err != nil {
		t.Fatalf("unsigned loopback call without credentials: %v", err)
	}
	readWS(t, c)
	waitReload := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for strings.Count(s.stderr.String(), "config reloaded") < n {
			if time.Now().After(deadline) {
				t.Fatalf("no reload within 20s of the change:\n%s", s.stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !strings.Contains(s.stderr.String(), `"mode":"loopback+generated-key"`) {
		t.Fatalf("start-up log does not name the generated-key mode:\n%s", s.stderr)
	}
	writeConfig(t, file, reloadConfig("m", fn+`management:
  credentials: [ { accessKeyId: AKIDNEW, secretAccessKey: newsecret } ]
`))
	waitReload(1)
	wantAPIError(t, "unsigned after the reload", postAs(t, endpoint, id, "", ""),
		"MissingAuthenticationTokenException", "Missing Authentication Token")
	wantAPIError(t, "wrong secret after the reload", postAs(t, endpoint, id, "AKIDNEW", "wrong"),
		"InvalidSignatureException", "The request signature we calculated")
	if err := postAs(t, endpoint, id, "AKIDNEW", "newsecret"); err != nil {
		t.Errorf("the new key: %v", err)
	}
	if !strings.Contains(s.stderr.String(), `"mode":"signed"`) {
		t.Errorf("the reload did not log the new mode:\n%s", s.stderr)
	}
	writeConfig(t, file, reloadConfig("m", fn))
	waitReload(2)
	if err := postAs(t, endpoint, id, "", ""); err != nil {
		t.Errorf("unsigned loopback call once the credentials are gone: %v", err)
	}
}
