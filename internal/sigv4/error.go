package sigv4

import (
	"fmt"
	"time"
)

// Error types, as written to the x-amzn-ErrorType header of the 403 answer. They are the types
// API Gateway's execute-api endpoints send (its "Gateway response types" MISSING_AUTHENTICATION_TOKEN,
// INVALID_SIGNATURE and the IAM ones), each seen in public captures:
//   - InvalidSignatureException: a signature that does not match, or a credential scoped to
//     another service, region or date; also clock skew (agilord/aws_client#440 for the mismatch
//     message; aws-sdk-js-v3#1831 and aws-sdk-go-v2#2687 for "Credential should be scoped to
//     correct service: 'execute-api'."). The SDKs treat it as a possible clock skew and retry
//     only when the response Date header shows one (aws-sdk-go-v2 aws/retry/middleware.go,
//     clockSkewCodes), so a wrong secret is not retried.
//   - UnrecognizedClientException: an access key id the gateway does not know, "The security
//     token included in the request is invalid." (kndt84/aws-api-gateway-client#31 against
//     execute-api; iann0036/iamlive#58 with HTTP 403).
//   - MissingAuthenticationTokenException: no Authorization header and no presigned query,
//     "Missing Authentication Token" (the gateway response amazon-archives/
//     aws-cognito-angular-quickstart#50 reconfigures).
//   - IncompleteSignatureException: an Authorization header or presigned query that is not a
//     SigV4 one ("Authorization header requires 'Credential' parameter. ..." with
//     x-amzn-errortype IncompleteSignatureException in aws-amplify/amplify-flutter#1539 and
//     aws/chalice#828; "not a valid key=value pair (missing equal-sign) in Authorization
//     header" in amazon-archives/aws-cognito-angular-quickstart#50).
//
// The AWS SDK for Go v2 has no modelled type for these in apigatewaymanagementapi: callers
// match the code with errors.As(err, &apiErr) and apiErr.ErrorCode() (smithy.APIError).
const (
	TypeInvalidSignature    = "InvalidSignatureException"
	TypeUnrecognizedClient  = "UnrecognizedClientException"
	TypeMissingToken        = "MissingAuthenticationTokenException"
	TypeIncompleteSignature = "IncompleteSignatureException"
)

// Messages AWS sends, quoted so that clients and people searching for them find the usual
// advice.
const (
	msgMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgMissing      = "Missing Authentication Token"
	msgUnknownKey   = "The security token included in the request is invalid."
	msgHostUnsigned = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
)

// Error is an authentication failure. The management API answers HTTP 403 with header
// x-amzn-ErrorType: Type and JSON body {"message": Message}. Reason is a short, fixed
// description for logs and metrics ("signature mismatch", "unknown access key"); it never holds
// a secret.
type Error struct {
	Type    string
	Message string
	Reason  string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// invalid is an InvalidSignatureException.
func invalid(reason, format string, args ...any) *Error {
	return &Error{Type: TypeInvalidSignature, Message: sprintf(format, args...), Reason: reason}
}

// incomplete is an IncompleteSignatureException: what was sent is not a whole SigV4 signature.
func incomplete(format string, args ...any) *Error {
	return &Error{Type: TypeIncompleteSignature, Message: sprintf(format, args...), Reason: "malformed signature"}
}

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// skewError builds AWS's clock-skew message, e.g. "Signature expired: 20240101T000000Z is now
// earlier than 20240101T000500Z (20240101T001000Z - 5 min.)".
func skewError(signed, now time.Time, skew time.Duration, future bool) *Error {
	if future {
		return invalid("clock skew", "Signature not yet current: %s is still later than %s (%s + %s.)",
			signed.Format(amzDateFormat), now.Add(skew).Format(amzDateFormat),
			now.Format(amzDateFormat), skewText(skew))
	}
	return invalid("clock skew", "Signature expired: %s is now earlier than %s (%s - %s.)",
		signed.Format(amzDateFormat), now.Add(-skew).Format(amzDateFormat),
		now.Format(amzDateFormat), skewText(skew))
}

func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}
