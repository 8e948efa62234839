// Package awsservice calls AWS services the way API Gateway's AWS (non-proxy) integrations do:
// an integration URI arn:aws:apigateway:{region}:{service}:action/{Action} or
// ...:{service}:path/{path} becomes one request to the service's endpoint in that service's own
// protocol (JSON with X-Amz-Target, or the form-encoded query protocol), signed with SigV4 by
// aws-sdk-go-v2's signer using credentials from the SDK's default chain.
//
// Endpoints are chosen as the AWS SDKs choose them: real AWS by default, overridden by
// AWS_ENDPOINT_URL_<SERVICE> and AWS_ENDPOINT_URL (and the shared config file's services
// sections), and by wsgate's own aws.endpoints config, which wins like an endpoint set in code.
// An endpoint whose host is not an AWS domain (dynalite, DynamoDB Local, LocalStack...) is a
// local emulator: wsgate may create resources there (CreateResources), never on AWS.
package awsservice

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Protocol is how a service's API is called.
type Protocol int

const (
	// JSON is awsJson1_0/awsJson1_1: POST / with X-Amz-Target: {TargetPrefix}.{Action} and
	// Content-Type application/x-amz-json-{JSONVersion}.
	JSON Protocol = iota + 1
	// Query is the form-encoded query protocol: POST / with Action=...&Version=... in an
	// application/x-www-form-urlencoded body.
	Query
	// REST services are only reachable through path-style URIs (path/...).
	REST
)

// Service is what wsgate needs to call one AWS service.
type Service struct {
	// Name is the service as integration URIs and endpoint hosts spell it (the endpoint
	// prefix): dynamodb, states, sqs.
	Name string
	// SDKID is the SDK's service id (the service package's ServiceID constant where wsgate
	// links that package). It names the service's endpoint variable:
	// AWS_ENDPOINT_URL_{SDKID upper-cased, blanks as _}, e.g. AWS_ENDPOINT_URL_SFN.
	SDKID string
	// SigningName is the SigV4 service name (the credential scope's service).
	SigningName string
	Protocol    Protocol
	// TargetPrefix and JSONVersion, for JSON services: X-Amz-Target's prefix and the
	// x-amz-json content type version.
	TargetPrefix, JSONVersion string
	// APIVersion, for Query services: the Version parameter.
	APIVersion string
	// AltJSON: a Query service that also accepts the JSON protocol (SQS since 2023), used when
	// a template renders a JSON object.
	AltJSON *Service
}

// services lists the services wsgate can call. aws-sdk-go-v2 does not export a service's
// protocol, X-Amz-Target prefix or JSON version (they are literals inside each service's
// generated serializers), and linking a service package only to read its ServiceID would add
// megabytes to the binary, so this table keeps them; ServiceID comes from the SDK for the
// packages wsgate links anyway (DynamoDB and SQS, for CreateResources). Values follow the
// services' Smithy models as the SDKs ship them.
var services = map[string]*Service{
	"dynamodb": {Name: "dynamodb", SDKID: dynamodb.ServiceID, SigningName: "dynamodb", Protocol: JSON, TargetPrefix: "DynamoDB_20120810", JSONVersion: "1.0"},
	"states":   {Name: "states", SDKID: "SFN", SigningName: "states", Protocol: JSON, TargetPrefix: "AWSStepFunctions", JSONVersion: "1.0"},
	"kinesis":  {Name: "kinesis", SDKID: "Kinesis", SigningName: "kinesis", Protocol: JSON, TargetPrefix: "Kinesis_20131202", JSONVersion: "1.1"},
	"firehose": {Name: "firehose", SDKID: "Firehose", SigningName: "firehose", Protocol: JSON, TargetPrefix: "Firehose_20150804", JSONVersion: "1.1"},
	"events":   {Name: "events", SDKID: "EventBridge", SigningName: "events", Protocol: JSON, TargetPrefix: "AWSEvents", JSONVersion: "1.1"},
	"logs":     {Name: "logs", SDKID: "CloudWatch Logs", SigningName: "logs", Protocol: JSON, TargetPrefix: "Logs_20140328", JSONVersion: "1.1"},
	"sqs": {Name: "sqs", SDKID: sqs.ServiceID, SigningName: "sqs", Protocol: Query, APIVersion: "2012-11-05",
		AltJSON: &Service{Name: "sqs", SDKID: sqs.ServiceID, SigningName: "sqs", Protocol: JSON, TargetPrefix: "AmazonSQS", JSONVersion: "1.0"}},
	"sns":    {Name: "sns", SDKID: "SNS", SigningName: "sns", Protocol: Query, APIVersion: "2010-03-31"},
	"lambda": {Name: "lambda", SDKID: "Lambda", SigningName: "lambda", Protocol: REST},
	"s3":     {Name: "s3", SDKID: "S3", SigningName: "s3", Protocol: REST},
}

// Lookup returns the service named as in an integration URI or an endpoint key: its endpoint
// prefix (dynamodb, states), its SDK id in any case (SFN, "CloudWatch Logs"), or the SDK id
// as its endpoint variable spells it (CLOUDWATCH_LOGS).
func Lookup(name string) (*Service, bool) {
	if s, ok := services[name]; ok {
		return s, true
	}
	for _, s := range services {
		if strings.EqualFold(name, s.SDKID) || strings.EqualFold(name, envName(s.SDKID)) || strings.EqualFold(name, s.Name) {
			return s, true
		}
	}
	return nil, false
}

// Supported lists the service names integration URIs may use, sorted.
func Supported() []string {
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// envName is the SDK id as endpoint variables spell it: "CloudWatch Logs" -> CLOUDWATCH_LOGS.
func envName(sdkID string) string {
	return strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_"))
}

// Target is a parsed AWS integration URI.
type Target struct {
	Service *Service
	// Region from the URI ("" when the URI leaves it empty).
	Region string
	// Action, for action/{Action} URIs.
	Action string
	// Path, for path/{path} URIs: the request path without its leading slash, and the query
	// string when the path has one (path/queue?x=1).
	Path, RawQuery string
}

// uriRE is arn:{partition}:apigateway:{region}:{service}:{action|path}/{rest}.
var uriRE = regexp.MustCompile(`^arn:(aws[a-z-]*):apigateway:([a-z0-9-]*):([A-Za-z0-9.-]+):(action|path)/(.+)$`)

// ParseURI reads an AWS integration URI. Errors say what is supported.
func ParseURI(uri string) (*Target, error) {
	m := uriRE.FindStringSubmatch(uri)
	if m == nil {
		return nil, fmt.Errorf("uri %q is not an AWS service integration URI: write arn:aws:apigateway:{region}:{service}:action/{Action} or arn:aws:apigateway:{region}:{service}:path/{path}", uri)
	}
	svcName := m[3]
	if strings.Contains(svcName, ".") {
		return nil, fmt.Errorf("uri %q: service subdomains ({subdomain}.{service}) are not supported: use the service's name (%s)", uri, strings.Join(Supported(), ", "))
	}
	svc, ok := services[svcName]
	if !ok {
		return nil, fmt.Errorf("uri %q: service %q is not supported: wsgate calls %s (or set standin: to an HTTP URL that performs the action)", uri, svcName, strings.Join(Supported(), ", "))
	}
	t := &Target{Service: svc, Region: m[2]}
	switch m[4] {
	case "action":
		if svc.Protocol == REST {
			return nil, fmt.Errorf("uri %q: %s is a REST service: write a path-style URI (arn:aws:apigateway:{region}:%s:path/...)", uri, svcName, svcName)
		}
		if !actionRE.MatchString(m[5]) {
			return nil, fmt.Errorf("uri %q: %q is not an action name: write e.g. action/PutItem", uri, m[5])
		}
		t.Action = m[5]
	case "path":
		p, q, _ := strings.Cut(m[5], "?")
		if _, err := url.ParseQuery(q); err != nil {
			return nil, fmt.Errorf("uri %q: query string: %w", uri, err)
		}
		t.Path, t.RawQuery = strings.TrimPrefix(p, "/"), q
	}
	return t, nil
}

var actionRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)

// String names the target for messages: "dynamodb:PutItem", "sqs:path/123/queue".
func (t *Target) String() string {
	if t.Action != "" {
		return t.Service.Name + ":" + t.Action
	}
	return t.Service.Name + ":path/" + t.Path
}
