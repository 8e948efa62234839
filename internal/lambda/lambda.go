// Package lambda calls one AWS Lambda function through the Lambda Invoke API, either at a local
// endpoint that speaks the API (the Runtime Interface Emulator, LocalStack, a test server) or at
// real AWS Lambda through aws-sdk-go-v2 with SigV4 and the default credential chain.
//
// It is shared by the AWS_PROXY integration and the Lambda REQUEST authorizer, which both need
// the same thing: post a JSON event, get the function's result payload or its error.
package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/wsgate/wsgate/internal/event"
)

// MaxResponseBytes bounds the result payload read from an Invoke API endpoint: Lambda's own
// limit for synchronous responses is 6 MB, so anything larger is not a Lambda answer.
const MaxResponseBytes = 6 << 20

// invokePath is the Invoke API's path; %s is the path-escaped function name or ARN.
const invokePath = "/2015-03-31/functions/%s/invocations"

// Function is one Lambda function invoked synchronously: payload in, the function's result
// payload out, or a *FunctionError when the function ran and failed. *Invoker (the Invoke API)
// is one; a function wsgate runs itself (internal/functions) is another, so AWS_PROXY
// integrations and REQUEST authorizers call either the same way.
type Function interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
	// Function names the function in errors and logs.
	Function() string
}

// Invoker calls one Lambda function through the Lambda Invoke API: with Endpoint set, a plain
// HTTP POST of the payload to {Endpoint}/2015-03-31/functions/{Function}/invocations (a local
// emulator such as the Runtime Interface Emulator, or any service that speaks it), or to
// Endpoint itself when it already ends in /invocations; with Endpoint
// empty, real AWS Lambda through aws-sdk-go-v2/service/lambda (default credential chain, SigV4 by
// the SDK; the client is built lazily on the first call and kept).
//
// An Invoker is safe for concurrent use.
type Invoker struct {
	function string
	endpoint string // trimmed of a trailing "/"; "" = real AWS
	region   string
	client   *http.Client
	url      string // endpoint mode: the full invocations URL

	mu  sync.Mutex
	sdk *awslambda.Client // real-AWS mode: built on first use
}

// New returns an Invoker for function (a name, a name:alias, or a full ARN). endpoint is the base
// URL of a Lambda Invoke API ("" = real AWS Lambda); region is used only for real AWS ("" = the
// SDK's default resolution: AWS_REGION, the shared config, the region of a function ARN). client
// carries the requests to endpoint (nil means http.DefaultClient); real AWS calls use the SDK's
// own client, which honours AWS_CA_BUNDLE and retries throttled calls.
func New(function, endpoint, region string, client *http.Client) *Invoker {
	if client == nil {
		client = http.DefaultClient
	}
	i := &Invoker{
		function: function,
		endpoint: strings.TrimRight(endpoint, "/"),
		region:   region,
		client:   client,
	}
	switch {
	case strings.HasSuffix(i.endpoint, "/invocations"):
		// A full invocations URL is used as given: the Runtime Interface Emulator serves its one
		// function as .../functions/function/invocations whatever the function is called.
		i.url = i.endpoint
	case i.endpoint != "":
		i.url = i.endpoint + fmt.Sprintf(invokePath, url.PathEscape(function))
	}
	return i
}

// Function returns the function name or ARN the Invoker calls.
func (i *Invoker) Function() string { return i.function }

// FunctionError is a function that ran and failed: it threw, timed out, or ran out of memory. The
// Invoke API reports this with a 200 and an X-Amz-Function-Error header; the payload is Lambda's
// error object ({"errorMessage": ..., "errorType": ...}).
type FunctionError struct {
	// Type is the payload's errorType when it has one ("Exception", "Runtime.ExitError"), else the
	// X-Amz-Function-Error value ("Unhandled", "Handled").
	Type string
	// Message is the payload's errorMessage, "" when the payload has none.
	Message string
	// Payload is the raw error payload as the function returned it.
	Payload []byte
}

func (e *FunctionError) Error() string {
	if e.Message == "" {
		return "lambda function error: " + e.Type
	}
	return "lambda function error: " + e.Type + ": " + e.Message
}

// Invoke calls the function synchronously (RequestResponse) with payload and returns its result
// payload. A function error is returned as *FunctionError; anything else (unreachable endpoint,
// a non-2xx from the Invoke API such as throttling or an unknown function, a context deadline)
// is wrapped with what was being done. ctx bounds the whole call.
func (i *Invoker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if i.endpoint != "" {
		return i.invokeHTTP(ctx, payload)
	}
	return i.invokeSDK(ctx, payload)
}

func (i *Invoker) invokeHTTP(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, i.url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("invoke lambda %q: %w", i.function, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	if tr := event.TraceID(ctx); tr != "" {
		// The Invoke API takes the caller's trace header; Lambda hands it to the function
		// as _X_AMZN_TRACE_ID, as it does for API Gateway's own calls.
		req.Header.Set(event.TraceHeader, tr)
	}
	resp, err := i.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke lambda %q at %s: %w", i.function, i.endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("invoke lambda %q: read result: %w", i.function, err)
	}
	if len(body) > MaxResponseBytes {
		return nil, fmt.Errorf("invoke lambda %q: result exceeds %d bytes", i.function, MaxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("invoke lambda %q at %s: Invoke API answered %d: %s",
			i.function, i.endpoint, resp.StatusCode, snippet(body))
	}
	if fe := resp.Header.Get("X-Amz-Function-Error"); fe != "" {
		return nil, newFunctionError(fe, body)
	}
	return body, nil
}

func (i *Invoker) invokeSDK(ctx context.Context, payload []byte) ([]byte, error) {
	c, err := i.sdkClient(ctx)
	if err != nil {
		return nil, err
	}
	out, err := c.Invoke(ctx, &awslambda.InvokeInput{
		FunctionName:   aws.String(i.function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return nil, fmt.Errorf("invoke lambda %q: %w", i.function, err)
	}
	if out.FunctionError != nil && *out.FunctionError != "" {
		return nil, newFunctionError(*out.FunctionError, out.Payload)
	}
	return out.Payload, nil
}

// sdkClient builds the SDK client once. A failure is not cached, so a call after the
// environment is fixed (credentials file appears) can succeed.
func (i *Invoker) sdkClient(ctx context.Context) (*awslambda.Client, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.sdk != nil {
		return i.sdk, nil
	}
	// The SDK keeps its own HTTP client here: it honours AWS_CA_BUNDLE and the SDK's transport
	// settings, which a plain *http.Client cannot take.
	var opts []func(*awsconfig.LoadOptions) error
	if r := i.regionFor(); r != "" {
		opts = append(opts, awsconfig.WithRegion(r))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("invoke lambda %q: load AWS config (credentials, region): %w", i.function, err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("invoke lambda %q: no AWS region: set region: on the integration, AWS_REGION, or give the function as an ARN", i.function)
	}
	i.sdk = awslambda.NewFromConfig(cfg)
	return i.sdk, nil
}

// regionFor is the configured region, else the region of a function ARN
// (arn:aws:lambda:REGION:ACCOUNT:function:NAME), else "" for the SDK's own resolution.
func (i *Invoker) regionFor() string {
	if i.region != "" {
		return i.region
	}
	if p := strings.SplitN(i.function, ":", 5); len(p) == 5 && p[0] == "arn" && p[2] == "lambda" {
		return p[3]
	}
	return ""
}

func newFunctionError(kind string, payload []byte) *FunctionError {
	e := &FunctionError{Type: kind, Payload: payload}
	var p struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(payload, &p) == nil {
		e.Message = p.ErrorMessage
		if p.ErrorType != "" {
			e.Type = p.ErrorType
		}
	}
	return e
}

// IsFunctionError reports whether err is (or wraps) a *FunctionError.
func IsFunctionError(err error) bool {
	var fe *FunctionError
	return errors.As(err, &fe)
}

// snippet shortens a response body for an error message.
func snippet(b []byte) string {
	const max = 256
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
