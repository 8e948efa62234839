package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// Every way a management call can fail authentication reaches the unmodified Go SDK as AWS's
// own error code, and each refusal is logged once at warn with the caller's IP, access key id
// and reason, never the secret.
func TestSignatureFailuresHaveAWSTypes(t *testing.T) {
	n, logs := servertest.StartLogged(t, sigAPI)
	// setAuthorization replaces (or with "" removes) the Authorization header the SDK signed.
	setAuthorization := func(v string) func(*apigatewaymanagementapi.Options) {
		return func(o *apigatewaymanagementapi.Options) {
			o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
				return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("setAuthorization",
					func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
						if req, ok := in.Request.(*smithyhttp.Request); ok {
							req.Header.Del("Authorization")
							if v != "" {
								req.Header.Set("Authorization", v)
							}
						}
						return next.HandleFinalize(ctx, in)
					}), middleware.After)
			})
		}
	}
	cases := []struct {
		name, key, secret, code, msg, reason string
		opt                                  func(*apigatewaymanagementapi.Options)
	}{
		{"wrong secret", mgmtKeyID, "not-the-secret", "InvalidSignatureException",
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
			"signature mismatch", nil},
		{"wrong service scope", mgmtKeyID, mgmtSecretKey, "InvalidSignatureException",
			"Credential should be scoped to correct service: 'execute-api'. ", "wrong service scope",
			apigatewaymanagementapi.WithSigV4SigningName("apigateway")},
		{"unknown access key", "AKIDNOBODYKNOWS", mgmtSecretKey, "UnrecognizedClientException",
			"The security token included in the request is invalid.", "unknown access key", nil},
		{"no Authorization", "", mgmtSecretKey, "MissingAuthenticationTokenException", "Missing Authentication Token", "no signature",
			setAuthorization("")},
		{"malformed Authorization", mgmtKeyID, mgmtSecretKey, "IncompleteSignatureException",
			"Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.",
			"malformed signature", setAuthorization("AWS4-HMAC-SHA256 Credential=" + mgmtKeyID)},
	}
	for i, c := range cases {
		key := c.key
		if key == "" {
			key = mgmtKeyID // signed, then the header removed
		}
		mc := mgmtClient(n, key, c.secret)
		var opts []func(*apigatewaymanagementapi.Options)
		if c.opt != nil {
			opts = append(opts, c.opt)
		}
		_, err := mc.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String("Dwz4leekPHcCG6Q="), Data: []byte("x"),
		}, opts...)
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != c.code || !strings.HasPrefix(api.ErrorMessage(), c.msg) {
			t.Errorf("%s: %v, want smithy.APIError %s %q", c.name, err, c.code, c.msg)
		}
		var re *smithyhttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
			t.Errorf("%s: %v, want HTTP 403", c.name, err)
		}
		var recs []map[string]any
		harness.Eventually(t, c.name+" warn line", func() bool {
			recs = logs.Records("management request refused")
			return len(recs) == i+1
		})
		rec := recs[i]
		if rec["level"] != "WARN" || rec["sourceIp"] != "127.0.0.1" || rec["accessKeyId"] != c.key ||
			rec["reason"] != c.reason || rec["operation"] != "PostToConnection" || rec["status"] != float64(403) {
			t.Errorf("%s: log line %v, want WARN with sourceIp, accessKeyId %q, reason %q", c.name, rec, c.key, c.reason)
		}
	}
	if all := logs.String(); strings.Contains(all, mgmtSecretKey) {
		t.Errorf("the secret access key appears in the log")
	}
	if n := len(logs.Records("management request")); n != 0 {
		t.Errorf("%d extra info/debug lines for refused calls; want each logged once", n)
	}
}

// sigAPI: management credentials and nothing else to call.
const sigAPI = `
management:
  credentials: [ { accessKeyId: ` + mgmtKeyID + `, secretAccessKey: "` + mgmtSecretKey + `" } ]
routes:
  $connect: {}
`
