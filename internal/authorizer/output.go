package authorizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// authorizerOutput is what a REQUEST authorizer returns (docs/aws-compatibility.md).
type authorizerOutput struct {
	PrincipalID    any             `json:"principalId"`
	PolicyDocument *policyDocument `json:"policyDocument"`
	Context        map[string]any  `json:"context"`
}

// parseOutput evaluates a REQUEST authorizer's answer for methodArn. It always returns exactly
// one of a Result (the policy allows) and an *Error: 403 when it denies, 401 for the bare
// "Unauthorized" string, 500 for anything malformed (with a cause that says what to fix).
func parseOutput(body []byte, methodArn, userClaim string) (*Result, *Error) {
	body = bytes.TrimSpace(body)
	if len(body) > MaxResultBytes {
		return nil, internal(fmt.Errorf("authorizer output is %d bytes; AWS's limit is %d", len(body), MaxResultBytes))
	}
	if string(body) == `"Unauthorized"` {
		return nil, unauthorized(errors.New(`authorizer returned "Unauthorized"`))
	}
	var out authorizerOutput
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, internal(fmt.Errorf("authorizer output is not a JSON object {principalId, policyDocument, context}: %w", err))
	}
	if dec.More() {
		return nil, internal(errors.New("authorizer output has data after the JSON object"))
	}
	if out.PolicyDocument == nil {
		return nil, internal(errors.New("authorizer output has no policyDocument"))
	}
	principal, ok := claimString(out.PrincipalID)
	if !ok && out.PrincipalID != nil {
		return nil, internal(fmt.Errorf("authorizer output principalId %v: must be a string", out.PrincipalID))
	}
	allowed, err := out.PolicyDocument.decide(methodArn)
	if err != nil {
		return nil, internal(err)
	}
	if !allowed {
		return nil, forbidden(fmt.Errorf("policy for principal %q does not allow %s on %s", principal, invokeAction, methodArn))
	}
	ctx := make(map[string]any, len(out.Context)+1)
	for k, v := range out.Context {
		s, ok := strictScalar(v)
		if !ok {
			return nil, internal(fmt.Errorf("authorizer output context.%s: values must be strings, numbers or booleans", k))
		}
		ctx[k] = s
	}
	ctx["principalId"] = principal
	uid := principal
	if userClaim != "" {
		uid, _ = claimString(ctx[userClaim])
	}
	return &Result{PrincipalID: principal, Context: ctx, UserID: uid}, nil
}
