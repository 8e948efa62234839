package management

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/wsgate/wsgate/internal/hub"
)

// apiError is an error the handler answers with: an HTTP status, the AWS exception name that goes
// in X-Amzn-ErrorType (and that SDKs map to a typed error, docs/aws-compatibility.md) and a message.
type apiError struct {
	Status  int
	Type    string
	Message string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

// Exception names. The first four are modelled by the apigatewaymanagementapi SDK clients;
// the others are the generic names AWS services use for the same statuses.
const (
	typeGone            = "GoneException"
	typeForbidden       = "ForbiddenException"
	typePayloadTooLarge = "PayloadTooLargeException"
	typeLimitExceeded   = "LimitExceededException"
	typeBadRequest      = "BadRequestException"
	typeNotFound        = "NotFoundException"
	typeInternal        = "InternalServerErrorException"
)

// errForbidden is AWS's answer for a path or method it does not serve, and wsgate's for a
// non-loopback caller when no credentials are configured: body exactly {"message":"Forbidden"}.
var errForbidden = &apiError{http.StatusForbidden, typeForbidden, "Forbidden"}

func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, typeBadRequest, fmt.Sprintf(format, args...)}
}

func tooLarge(limit int64) *apiError {
	return &apiError{http.StatusRequestEntityTooLarge, typePayloadTooLarge,
		"Request payload is larger than the " + strconv.FormatInt(limit, 10) + "-byte limit"}
}

// backendError maps an error from Backend (the hub's errors) to AWS's answer: the one place
// where delivery failures become HTTP. The messages name what was not found so that a caller
// reading a log knows which id to drop.
func backendError(err error, what string) *apiError {
	switch {
	case errors.Is(err, hub.ErrGone):
		return &apiError{http.StatusGone, typeGone, what + " is gone"}
	case errors.Is(err, hub.ErrPayloadTooLarge): // the hub's limit, which may be below maxBody
		return &apiError{http.StatusRequestEntityTooLarge, typePayloadTooLarge,
			"Message is larger than the gateway's message size limit"}
	case errors.Is(err, hub.ErrSlowConsumer):
		return &apiError{http.StatusTooManyRequests, typeLimitExceeded,
			"The send buffer of " + what + " is full; retry later"}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{http.StatusInternalServerError, typeInternal, "Timed out waiting for the gateway"}
	}
	return &apiError{http.StatusInternalServerError, typeInternal, "Internal server error"}
}
