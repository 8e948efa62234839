package awsservice

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// DefaultKey is the aws.endpoints key that sets every service's endpoint (AWS_ENDPOINT_URL's
// equivalent).
const DefaultKey = "default"

// PlaceholderAccessKeyID is the access key requests to a local emulator are signed with when the
// SDK's default chain finds no credentials: emulators check that a request is signed, not who
// signed it.
const PlaceholderAccessKeyID = "wsgate-local"

// credentialsProbeTimeout bounds the one look-up of the default credential chain (which may
// try the EC2 instance metadata service).
const credentialsProbeTimeout = 10 * time.Second

// Options configure a Client.
type Options struct {
	// Endpoints is wsgate's aws.endpoints: a service name (dynamodb, states, sqs; or its SDK id,
	// SFN) or DefaultKey, to a base URL (http://127.0.0.1:4567). They win over the
	// AWS_ENDPOINT_URL* variables, as an endpoint set in code does in the SDKs.
	Endpoints map[string]string
	// Region for URIs that name none; "" means the SDK's (AWS_REGION, the shared config).
	Region string
	// Logger; nil discards.
	Logger *slog.Logger
	// LoadOptions are passed to config.LoadDefaultConfig (tests use them for static
	// credentials).
	LoadOptions []func(*awsconfig.LoadOptions) error
}

// Client signs and addresses requests to AWS services. It is safe for concurrent use.
type Client struct {
	cfg       aws.Config
	region    string
	endpoints map[string]string // service Name or DefaultKey -> URL
	log       *slog.Logger
	signer    *v4.Signer

	credOnce sync.Once
	credErr  error // from the one probe of the default chain

	mu     sync.Mutex
	roles  map[string]*role
	logged map[string]bool
}

// New loads the SDK's configuration (environment, shared config files; no network) and checks
// o.Endpoints. Errors name the key to fix.
func New(ctx context.Context, o Options) (*Client, error) {
	lo := append([]func(*awsconfig.LoadOptions) error(nil), o.LoadOptions...)
	if o.Region != "" {
		lo = append(lo, awsconfig.WithRegion(o.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	c := &Client{
		cfg: cfg, region: cfg.Region, endpoints: map[string]string{}, log: o.Logger,
		signer: v4.NewSigner(), roles: map[string]*role{}, logged: map[string]bool{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.region == "" {
		c.region = "us-east-1"
	}
	for k, v := range o.Endpoints {
		name := DefaultKey
		if k != DefaultKey {
			s, ok := Lookup(k)
			if !ok {
				return nil, fmt.Errorf("aws.endpoints.%s: unknown service; use one of %s, or %s for all", k, strings.Join(Supported(), ", "), DefaultKey)
			}
			name = s.Name
		}
		if _, err := parseEndpoint(v); err != nil {
			return nil, fmt.Errorf("aws.endpoints.%s: %w", k, err)
		}
		c.endpoints[name] = v
	}
	return c, nil
}

// Region is the region used for URIs that name none.
func (c *Client) Region() string { return c.region }

// Config is the SDK configuration the client uses (credentials, region, config sources).
func (c *Client) Config() aws.Config { return c.cfg }

func parseEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an endpoint URL: write e.g. http://127.0.0.1:4567", s)
	}
	return u, nil
}

// Endpoint is where one service is called.
type Endpoint struct {
	URL *url.URL
	// Source says where the endpoint came from: "aws.endpoints.dynamodb",
	// "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", or "AWS" for the service's real endpoint.
	Source string
	// Local is true for a configured endpoint whose host is not an AWS domain: an emulator.
	Local bool
}

// Resolve returns the endpoint of svc in region, the way the SDKs choose it: wsgate's
// aws.endpoints for the service, AWS_ENDPOINT_URL_<SERVICE> (or the shared config file's
// services section), aws.endpoints.default, AWS_ENDPOINT_URL, and otherwise the service's
// AWS endpoint from the SDK's resolver (for the services wsgate links) or the standard
// https://{service}.{region}.{dnsSuffix}. AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips the
// variables and shared config, as in the SDKs.
func (c *Client) Resolve(ctx context.Context, svc *Service, region string) (Endpoint, error) {
	if region == "" {
		region = c.region
	}
	custom := func(raw, source string) (Endpoint, error) {
		u, err := parseEndpoint(raw)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%s: %w", source, err)
		}
		return Endpoint{URL: u, Source: source, Local: !isAWSHost(u.Hostname())}, nil
	}
	if v, ok := c.endpoints[svc.Name]; ok {
		return custom(v, "aws.endpoints."+svc.Name)
	}
	ignore := c.ignoreConfigured(ctx)
	if !ignore {
		for _, src := range c.cfg.ConfigSources {
			p, ok := src.(interface {
				GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
			})
			if !ok {
				continue
			}
			if v, found, err := p.GetServiceBaseEndpoint(ctx, svc.SDKID); err == nil && found && v != "" {
				return custom(v, "AWS_ENDPOINT_URL_"+envName(svc.SDKID))
			}
		}
	}
	if v, ok := c.endpoints[DefaultKey]; ok {
		return custom(v, "aws.endpoints."+DefaultKey)
	}
	if !ignore && c.cfg.BaseEndpoint != nil && *c.cfg.BaseEndpoint != "" {
		return custom(*c.cfg.BaseEndpoint, "AWS_ENDPOINT_URL")
	}
	raw, err := awsEndpoint(ctx, svc, region)
	if err != nil {
		return Endpoint{}, fmt.Errorf("resolve the %s endpoint in %s: %w", svc.Name, region, err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Endpoint{}, err
	}
	return Endpoint{URL: u, Source: "AWS"}, nil
}

func (c *Client) ignoreConfigured(ctx context.Context) bool {
	for _, src := range c.cfg.ConfigSources {
		if p, ok := src.(interface {
			GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error)
		}); ok {
			if v, found, err := p.GetIgnoreConfiguredEndpoints(ctx); err == nil && found {
				return v
			}
		}
	}
	return false
}

// awsEndpoint is the service's real endpoint in region.
func awsEndpoint(ctx context.Context, svc *Service, region string) (string, error) {
	switch svc.Name {
	case "dynamodb":
		ep, err := dynamodb.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, dynamodb.EndpointParameters{Region: aws.String(region)})
		if err != nil {
			return "", err
		}
		return ep.URI.String(), nil
	case "sqs":
		ep, err := sqs.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, sqs.EndpointParameters{Region: aws.String(region)})
		if err != nil {
			return "", err
		}
		return ep.URI.String(), nil
	}
	// The standard form every other service here follows in the aws, aws-cn and aws-us-gov
	// partitions.
	suffix := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	return "https://" + svc.Name + "." + region + "." + suffix, nil
}

// isAWSHost reports whether host is one of AWS's own service domains.
func isAWSHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, s := range []string{".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".on.aws"} {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// NewRequest builds the request API Gateway sends for t with the rendered template body:
//
//   - action/{Action} on a JSON service: POST / with X-Amz-Target: {prefix}.{Action}, Content-Type
//     application/x-amz-json-1.0 or 1.1 and the body as rendered ({} when empty).
//   - action/{Action} on a query service: POST / with an application/x-www-form-urlencoded body,
//     the rendered form parameters plus Action and Version when the template left them out. On
//     SQS a template that renders a JSON object is sent in SQS's JSON protocol instead.
//   - path/{path}: method to {endpoint}/{path}, the body as rendered; Content-Type is
//     application/x-www-form-urlencoded for query services, application/json otherwise (a
//     request parameter integration.request.header.Content-Type overrides it).
//
// method is the integration's IntegrationMethod ("" = POST).
func NewRequest(ctx context.Context, t *Target, ep Endpoint, method string, body []byte) (*http.Request, []byte, error) {
	if method == "" {
		method = http.MethodPost
	}
	u := *ep.URL
	h := http.Header{}
	switch {
	case t.Action != "":
		u.Path = strings.TrimRight(u.Path, "/") + "/"
		svc := t.Service
		if svc.AltJSON != nil && looksJSONObject(body) {
			svc = svc.AltJSON
		}
		switch svc.Protocol {
		case JSON:
			h.Set("X-Amz-Target", svc.TargetPrefix+"."+t.Action)
			h.Set("Content-Type", "application/x-amz-json-"+svc.JSONVersion)
			if len(bytes.TrimSpace(body)) == 0 {
				body = []byte("{}")
			}
		case Query:
			form, err := url.ParseQuery(strings.TrimSpace(string(body)))
			if err != nil {
				return nil, nil, fmt.Errorf("%s takes form parameters (Name=value&...), and the request template rendered %q: %w", t, short(body), err)
			}
			if form.Get("Action") == "" {
				form.Set("Action", t.Action)
			}
			if form.Get("Version") == "" {
				form.Set("Version", svc.APIVersion)
			}
			body = []byte(form.Encode())
			h.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		}
		if ep.Source == "AWS" && t.Service.Name == "states" && t.Action == "StartSyncExecution" {
			// Synchronous executions have their own host on AWS (the SDK's hostPrefix "sync-").
			u.Host = "sync-" + u.Host
		}
	default:
		u.Path = strings.TrimRight(u.Path, "/") + "/" + t.Path
		u.RawPath = ""
		u.RawQuery = t.RawQuery
		if t.Service.Protocol == Query {
			h.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		} else if len(body) > 0 {
			h.Set("Content-Type", "application/json")
		}
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", t, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	return req, body, nil
}

func looksJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

func short(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// Sign signs req (whose body is body) with SigV4 for svc in region. Credentials come from the
// SDK's default chain, looked up once; with roleARN (an integration's credentialsArn) set and
// the endpoint on AWS, the role is assumed through STS first, falling back once (with a log
// line) to the chain's own credentials when that fails. Requests to a local emulator are signed
// with the chain's credentials, or placeholders when there are none.
func (c *Client) Sign(ctx context.Context, req *http.Request, body []byte, svc *Service, region string, ep Endpoint, roleARN string) error {
	if region == "" {
		region = c.region
	}
	creds, err := c.credentials(ctx, ep, roleARN)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if svc.Name == "s3" {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	if err := c.signer.SignHTTP(ctx, creds, req, hash, svc.SigningName, region, time.Now().UTC()); err != nil {
		return fmt.Errorf("sign the %s request: %w", svc.Name, err)
	}
	return nil
}

// ErrNoCredentials is returned for calls to AWS when the default chain found no credentials.
var ErrNoCredentials = errors.New("no AWS credentials: wsgate found none in the SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, SSO, the instance role)")

// CheckCredentials looks the default chain up once (later calls return the same answer). An
// error means calls to real AWS will fail; the caller logs it once.
func (c *Client) CheckCredentials(ctx context.Context) error {
	c.credOnce.Do(func() {
		if c.cfg.Credentials == nil {
			c.credErr = ErrNoCredentials
			return
		}
		ctx, cancel := context.WithTimeout(ctx, credentialsProbeTimeout)
		defer cancel()
		cr, err := c.cfg.Credentials.Retrieve(ctx)
		if err != nil || !cr.HasKeys() {
			c.credErr = fmt.Errorf("%w: %v", ErrNoCredentials, err)
		}
	})
	return c.credErr
}

func (c *Client) credentials(ctx context.Context, ep Endpoint, roleARN string) (aws.Credentials, error) {
	if err := c.CheckCredentials(ctx); err != nil {
		if ep.Local {
			c.once("placeholder:"+ep.URL.Host, func() {
				c.log.Info("no AWS credentials found: requests to the local endpoint are signed with placeholder credentials",
					"endpoint", ep.URL.Redacted(), "accessKeyId", PlaceholderAccessKeyID)
			})
			return aws.Credentials{AccessKeyID: PlaceholderAccessKeyID, SecretAccessKey: PlaceholderAccessKeyID, Source: "wsgate"}, nil
		}
		return aws.Credentials{}, fmt.Errorf("%w (the start-up log has the cause)", ErrNoCredentials)
	}
	if roleARN != "" {
		if ep.Local {
			c.once("role-local:"+roleARN, func() {
				c.log.Info("credentialsArn is not assumed for a local endpoint; wsgate's own credentials sign the requests",
					"credentialsArn", roleARN, "endpoint", ep.URL.Redacted())
			})
		} else if cr, ok := c.assume(ctx, roleARN); ok {
			return cr, nil
		}
	}
	return c.cfg.Credentials.Retrieve(ctx)
}

// role is one credentialsArn's assumed-role credentials.
type role struct {
	p      aws.CredentialsProvider
	failed bool
}

// assume returns the role's credentials; false after the first failure (logged once), when the
// caller's own credentials are used instead.
func (c *Client) assume(ctx context.Context, roleARN string) (aws.Credentials, bool) {
	c.mu.Lock()
	r, ok := c.roles[roleARN]
	if !ok {
		r = &role{p: aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(c.cfg), roleARN,
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "wsgate" }))}
		c.roles[roleARN] = r
	}
	failed := r.failed
	c.mu.Unlock()
	if failed {
		return aws.Credentials{}, false
	}
	cr, err := r.p.Retrieve(ctx)
	if err != nil {
		c.mu.Lock()
		r.failed = true
		c.mu.Unlock()
		c.log.Warn("cannot assume credentialsArn: the integration calls AWS with wsgate's own credentials",
			"credentialsArn", roleARN, "error", err.Error())
		return aws.Credentials{}, false
	}
	return cr, true
}

// once runs f the first time key is seen.
func (c *Client) once(key string, f func()) {
	c.mu.Lock()
	seen := c.logged[key]
	c.logged[key] = true
	c.mu.Unlock()
	if !seen {
		f()
	}
}

// EndpointEnv returns the variables that point the AWS SDKs of a process at the endpoints of
// wsgate's aws.endpoints config: AWS_ENDPOINT_URL_<SERVICE>=URL for each service entry and
// AWS_ENDPOINT_URL=URL for the default entry, sorted. Functions that wsgate runs get them, so
// that their SDK calls go where the integrations' go. Unknown services are skipped (New
// reports them).
func EndpointEnv(endpoints map[string]string) []string {
	var out []string
	for k, v := range endpoints {
		if k == DefaultKey {
			out = append(out, "AWS_ENDPOINT_URL="+v)
			continue
		}
		if s, ok := Lookup(k); ok {
			out = append(out, "AWS_ENDPOINT_URL_"+envName(s.SDKID)+"="+v)
		}
	}
	sort.Strings(out)
	return out
}
