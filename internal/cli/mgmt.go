package cli

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/smithy-go"
	"github.com/spf13/pflag"

	"github.com/wsgate/wsgate/internal/config"
)

// mgmtFlags are the flags every management command shares: where the management API is and
// the credentials to sign with. Each falls back to the environment, then to --config.
type mgmtFlags struct {
	endpoint, region, accessKeyID, secretAccessKey, config string
	timeout                                                time.Duration
}

const mgmtFlagsHelp = `The endpoint is --endpoint, else $WSGATE_ENDPOINT, else http://{listen}/{stage} of --config, else
http://127.0.0.1:8080/dev. Calls are signed with SigV4 (service execute-api) as the AWS SDKs sign them,
with --access-key-id/--secret-access-key, else $WSGATE_ACCESS_KEY_ID/$WSGATE_SECRET_ACCESS_KEY (what
'wsgate serve' reads), else $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY (and $AWS_SESSION_TOKEN), else
the first of --config's management.credentials; with none they go unsigned,
which a gateway without credentials accepts from loopback clients. The region is --region, else
$AWS_REGION or $AWS_DEFAULT_REGION, else --config's region, else us-east-1.`

func addMgmtFlags(fs *pflag.FlagSet) *mgmtFlags {
	f := &mgmtFlags{}
	fs.StringVar(&f.endpoint, "endpoint", "", "management `URL` including the stage, e.g. http://127.0.0.1:8080/dev")
	fs.StringVar(&f.region, "region", "", "`REGION` to sign for")
	fs.StringVar(&f.accessKeyID, "access-key-id", "", "access key `ID` to sign with")
	fs.StringVar(&f.secretAccessKey, "secret-access-key", "", "secret access `KEY` to sign with")
	fs.StringVar(&f.config, "config", "", "wsgate config `FILE` to take the endpoint, region and credentials from")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long one call may take")
	return f
}

// mgmtClient calls one gateway's management API: the AWS operations through the SDK's own
// client, the wsgate extensions (docs/management-api.md) through the SDK's SigV4 signer.
type mgmtClient struct {
	endpoint string // without a trailing slash
	region   string
	creds    *aws.Credentials // nil: unsigned
	api      *apigatewaymanagementapi.Client
	http     *http.Client
}

func (f *mgmtFlags) client() (*mgmtClient, error) {
	var cfg *config.Config
	if f.config != "" {
		var err error
		if cfg, err = config.Load(f.config); err != nil {
			return nil, err
		}
	}
	c := &mgmtClient{http: &http.Client{Timeout: f.timeout}}
	c.endpoint = cmp.Or(f.endpoint, os.Getenv("WSGATE_ENDPOINT"))
	if c.endpoint == "" && cfg != nil {
		c.endpoint = endpointOf(cfg)
	}
	c.endpoint = strings.TrimSuffix(cmp.Or(c.endpoint, "http://127.0.0.1:8080/dev"), "/")
	c.region = cmp.Or(f.region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
	if c.region == "" && cfg != nil {
		c.region = cfg.Region
	}
	c.region = cmp.Or(c.region, "us-east-1")
	switch {
	case f.accessKeyID != "" || f.secretAccessKey != "":
		if f.accessKeyID == "" || f.secretAccessKey == "" {
			return nil, errors.New("give both --access-key-id and --secret-access-key")
		}
		c.creds = &aws.Credentials{AccessKeyID: f.accessKeyID, SecretAccessKey: f.secretAccessKey}
	case os.Getenv(envAccessKeyID) != "" && os.Getenv(envSecretAccessKey) != "":
		c.creds = &aws.Credentials{AccessKeyID: os.Getenv(envAccessKeyID), SecretAccessKey: os.Getenv(envSecretAccessKey)}
	case os.Getenv("AWS_ACCESS_KEY_ID") != "" && os.Getenv("AWS_SECRET_ACCESS_KEY") != "":
		c.creds = &aws.Credentials{AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"),
			SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: os.Getenv("AWS_SESSION_TOKEN")}
	case cfg != nil && len(cfg.Management.Credentials) > 0:
		k := cfg.Management.Credentials[0]
		c.creds = &aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
	}
	var provider aws.CredentialsProvider = aws.AnonymousCredentials{}
	if c.creds != nil {
		creds := *c.creds
		provider = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
	}
	c.api = apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(c.endpoint), Region: c.region, Credentials: provider,
		HTTPClient: c.http, RetryMaxAttempts: 1,
	})
	return c, nil
}

// endpointOf is the management URL of the gateway cfg describes, as seen from this host.
func endpointOf(cfg *config.Config) string {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		host, port = "127.0.0.1", "8080"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	scheme := "http"
	if cfg.TLS != nil && cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/" + cfg.Stage
}

// call sends one extension request (path after the stage, e.g. "@users?ids=a") and decodes a
// JSON answer into out (when not nil). A non-2xx answer is returned as an error with AWS's
// error type and message.
func (c *mgmtClient) call(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+"/"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if c.creds != nil {
		sum := sha256.Sum256(body) // the signature covers the body's hash
		if err := v4.NewSigner().SignHTTP(ctx, *c.creds, req, hex.EncodeToString(sum[:]), "execute-api", c.region, time.Now()); err != nil {
			return err
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		return fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode,
			cmp.Or(resp.Header.Get("X-Amzn-ErrorType"), http.StatusText(resp.StatusCode)), cmp.Or(e.Message, string(data)))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// apiError shortens an SDK error to "GoneException: message".
func apiError(err error) error {
	if ae, ok := errors.AsType[smithy.APIError](err); ok {
		return fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return err
}

// printJSON writes v indented, as the AWS CLI prints answers.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
