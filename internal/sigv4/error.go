package sigv4

import (
	"fmt"
	"time"
)

// Error types, as written to the x-amzn-ErrorType header of the 403 answer.
const (
	// TypeForbidden is used for every failure except clock skew: the unmodified Go SDK for
	// apigatewaymanagementapi decodes it into *types.ForbiddenException, so a caller with a
	// wrong secret sees a typed error rather than a generic one.
	TypeForbidden = "ForbiddenException"
	// TypeInvalidSignature is used only when X-Amz-Date is outside the allowed skew: the AWS
	// SDK retryers treat it as a clock-skew error and correct their offset from the response
	// Date header, so the retry succeeds.
	TypeInvalidSignature = "InvalidSignatureException"
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
// x-amzn-ErrorType: Type and JSON body {"message": Message}.
type Error struct {
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// deny is a ForbiddenException with msg as is.
func deny(msg string) *Error { return &Error{Type: TypeForbidden, Message: msg} }

// forbidden is a ForbiddenException with a formatted message.
func forbidden(format string, args ...any) *Error {
	return &Error{Type: TypeForbidden, Message: fmt.Sprintf(format, args...)}
}

// skewError builds AWS's clock-skew message, e.g. "Signature expired: 20240101T000000Z is now
// earlier than 20240101T000500Z (20240101T001000Z - 5 min.)".
func skewError(signed, now time.Time, skew time.Duration, future bool) *Error {
	if future {
		return &Error{Type: TypeInvalidSignature, Message: fmt.Sprintf(
			"Signature not yet current: %s is still later than %s (%s + %s.)",
			signed.Format(amzDateFormat), now.Add(skew).Format(amzDateFormat),
			now.Format(amzDateFormat), skewText(skew))}
	}
	return &Error{Type: TypeInvalidSignature, Message: fmt.Sprintf(
		"Signature expired: %s is now earlier than %s (%s - %s.)",
		signed.Format(amzDateFormat), now.Add(-skew).Format(amzDateFormat),
		now.Format(amzDateFormat), skewText(skew))}
}

func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}
