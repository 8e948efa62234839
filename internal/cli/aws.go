package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/wsgate/wsgate/internal/awsservice"
	"github.com/wsgate/wsgate/internal/cfn"
	"github.com/wsgate/wsgate/internal/config"
)

// endpointFlag collects repeated --aws-endpoint-url [service=]URL flags: service is a name as
// integration URIs spell it (dynamodb, sqs, states...); without one the URL is every service's
// (aws.endpoints.default, AWS_ENDPOINT_URL's equivalent).
type endpointFlag map[string]string

func (e endpointFlag) String() string { return "" }
func (e endpointFlag) Type() string   { return "[service=]URL" }
func (e endpointFlag) Set(v string) error {
	k, u, ok := strings.Cut(v, "=")
	if !ok || strings.Contains(k, "/") || strings.Contains(k, ":") {
		k, u = awsservice.DefaultKey, v
	}
	if k != awsservice.DefaultKey {
		s, known := awsservice.Lookup(k)
		if !known {
			return fmt.Errorf("%q: unknown service %q; use one of %s, or give the URL alone for every service", v, k, strings.Join(awsservice.Supported(), ", "))
		}
		k = s.Name
	}
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return fmt.Errorf("%q: write [service=]URL with an http:// or https:// URL, e.g. dynamodb=http://127.0.0.1:4567", v)
	}
	e[k] = u
	return nil
}

// addAWSEndpointFlag declares --aws-endpoint-url on fs.
func addAWSEndpointFlag(fs *pflag.FlagSet) endpointFlag {
	e := endpointFlag{}
	fs.Var(e, "aws-endpoint-url", "send AWS service integrations' calls for one service (`[service=]URL`, e.g. dynamodb=http://127.0.0.1:4567) or all of them to URL instead of AWS; overrides aws.endpoints and AWS_ENDPOINT_URL[_SERVICE] (repeatable)")
	return e
}

// applyAWSEndpoints merges the flag's endpoints into cfg (the flags win).
func applyAWSEndpoints(cfg *config.Config, e endpointFlag) {
	if len(e) == 0 {
		return
	}
	if cfg.AWS.Endpoints == nil {
		cfg.AWS.Endpoints = map[string]string{}
	}
	maps.Copy(cfg.AWS.Endpoints, e)
}

// sqsEndpoint is the configured SQS endpoint (flags, then AWS_ENDPOINT_URL_SQS /
// AWS_ENDPOINT_URL), for the queue URLs a template's Refs give; nil when SQS is AWS's.
func sqsEndpoint(e endpointFlag) map[string]string {
	c, err := awsservice.New(context.Background(), awsservice.Options{Endpoints: e})
	if err != nil {
		return nil
	}
	s, _ := awsservice.Lookup("sqs")
	ep, err := c.Resolve(context.Background(), s, "")
	if err != nil || ep.Source == "AWS" {
		return nil
	}
	return map[string]string{"sqs": ep.URL.String()}
}

// createTemplateResources creates the template's tables and queues on the services whose
// endpoint is a local emulator (never on AWS). A failure is logged by CreateResources and does
// not stop serve: the integrations that need the resource fail until it exists.
func createTemplateResources(ctx context.Context, path string, o cfn.Options, cfg *config.Config, log *slog.Logger, stderr io.Writer) {
	data, err := os.ReadFile(path)
	if err != nil {
		return // load read it a moment ago; the error is reported there
	}
	res, err := cfn.AWSResources(path, data, o)
	if err != nil || (len(res.Tables) == 0 && len(res.Queues) == 0) {
		return
	}
	c, err := awsservice.New(ctx, awsservice.Options{Endpoints: cfg.AWS.Endpoints, Region: cfg.Region, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "wsgate: resources not created:", err)
		return
	}
	_ = c.CreateResources(ctx, res, cfg.Region)
}
