// Package cfn reads CloudFormation and SAM templates that define an API Gateway WebSocket API
// and maps them to wsgate's native config, so `wsgate serve --template` and `wsgate import`
// run the same API a user deploys to AWS.
//
// The reader resolves what a deployment would: parameters (defaults and overrides), pseudo
// parameters, conditions, and the intrinsic functions Ref, Fn::GetAtt, Fn::Sub, Fn::Join,
// Fn::Select, Fn::Split, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::FindInMap,
// Fn::Base64, Fn::GetAZs, Fn::Length and Fn::ToJsonString, in long and short (!Tag) form.
// Values are resolved lazily: only the properties wsgate maps are evaluated, so an IAM policy
// using a function wsgate cannot resolve does not stop an import.
//
// Nothing is dropped silently: every resource type, property and setting wsgate does not
// honour comes back as a Warning, once.
package cfn

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wsgate/wsgate/internal/config"
)

// Pseudo-parameter defaults.
const (
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "123456789012"
	DefaultStackName = "wsgate"
)

// Options are the command-line inputs of an import.
type Options struct {
	// Parameters override template parameter defaults (--parameter Key=Value). A key the
	// template does not declare is an error.
	Parameters map[string]string
	// Functions maps a function to a Lambda Invoke API endpoint (--function Name=http://host:port),
	// such as the AWS Lambda Runtime Interface Emulator. Name is the function's logical id or
	// its FunctionName. A function without an entry is called on real AWS Lambda.
	Functions map[string]string
	// Standins maps an AWS service integration's logical id (DynamoDB, Step Functions, SQS...)
	// to an HTTP URL that receives the rendered request instead (--standin Name=http://...).
	Standins map[string]string
	// AWSEndpoints are the endpoints AWS service integrations are pointed at, keyed like
	// aws.endpoints (a service such as sqs, or "default"): queue URLs (Ref of an
	// AWS::SQS::Queue) use the SQS one, as an emulator's own queue URLs do.
	AWSEndpoints map[string]string
	// JWTAuthorizers replace authorizers of the template, keyed by logical id or Name, with
	// wsgate's built-in JWT authorizer with the given settings (--jwt-authorizer and the
	// --jwt-* flags): for an authorizer function that cannot run here. The template's
	// IdentitySource and AuthorizerResultTtlInSeconds are kept unless the value sets its own;
	// the function AuthorizerUri names is then neither called nor required. A key that names
	// no authorizer is an error.
	JWTAuthorizers map[string]config.Authorizer
	// Pseudo parameters AWS::Region, AWS::AccountId, AWS::StackName; empty means the Default*.
	Region, AccountID, StackName string
	// Stage picks a stage (by StageName or logical id) when the template has several; with no
	// Stage resource it names the stage.
	Stage string
}

// Warning is one thing in the template that wsgate does not do as AWS would.
type Warning struct {
	// Resource is the logical id, or for an unused resource type the ids of every resource of
	// that type; empty for template-level sections.
	Resource string
	// Property is the property path under Properties (or a top-level section name when
	// Resource is empty); empty when the warning is about the whole resource.
	Property string
	Message  string
	// Blocking marks a warning that makes the API unable to run as written (an AWS service
	// integration without a stand-in): `import` prints it and keeps the setting; `serve
	// --template` must refuse to start with the same text.
	Blocking bool
}

// String renders the warning as "Resource.Properties.Property: message".
func (w Warning) String() string {
	var b strings.Builder
	switch {
	case w.Resource != "" && w.Property != "":
		b.WriteString(w.Resource + ".Properties." + w.Property)
	case w.Resource != "":
		b.WriteString(w.Resource)
	default:
		b.WriteString(w.Property)
	}
	b.WriteString(": ")
	b.WriteString(w.Message)
	return b.String()
}

// Error is a template that cannot be imported. Path is the key path in the template
// (Resources.EchoRoute.Properties.Target); Line is 0 when unknown.
type Error struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// BlockingError returns an error listing every Blocking warning, or nil when there is none.
// `serve --template` calls it so that a template it cannot run as written fails at start with
// the same text `import` printed.
func BlockingError(ws []Warning) error {
	var lines []string
	for _, w := range ws {
		if w.Blocking {
			lines = append(lines, w.String())
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return errors.New("the template cannot run in wsgate as written:\n  " + strings.Join(lines, "\n  "))
}
