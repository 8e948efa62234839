package authorizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// invokeAction is the IAM action a $connect policy must allow.
const invokeAction = "execute-api:Invoke"

// policyDocument is the IAM policy a REQUEST authorizer returns. IAM allows a single statement
// object or a list, and Action/Resource as a string or a list; all four forms are accepted.
type policyDocument struct {
	Version   string     `json:"Version"`
	Statement statements `json:"Statement"`
}

type statement struct {
	Effect   string    `json:"Effect"`
	Action   strOrList `json:"Action"`
	Resource strOrList `json:"Resource"`
}

type statements []statement

func (s *statements) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var one statement
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = statements{one}
		return nil
	}
	var many []statement
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

type strOrList []string

func (l *strOrList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*l = strOrList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be a string or a list of strings")
	}
	*l = many
	return nil
}

// decide evaluates the policy for action execute-api:Invoke on methodArn the way IAM does: an
// explicit Deny that matches wins, else an Allow that matches admits, else the default is deny.
// It returns whether access is allowed, or an error for a malformed policy (unknown Effect).
func (p *policyDocument) decide(methodArn string) (bool, error) {
	if len(p.Statement) == 0 {
		return false, errors.New("policyDocument has no Statement")
	}
	allowed := false
	for i, st := range p.Statement {
		var allow bool
		switch {
		case strings.EqualFold(st.Effect, "Allow"):
			allow = true
		case strings.EqualFold(st.Effect, "Deny"):
		default:
			return false, fmt.Errorf("policyDocument.Statement[%d].Effect %q: use Allow or Deny", i, st.Effect)
		}
		if !matchesAny(st.Action, invokeAction, true) || !matchesAny(st.Resource, methodArn, false) {
			continue
		}
		if !allow {
			return false, nil
		}
		allowed = true
	}
	return allowed, nil
}

func matchesAny(patterns []string, s string, foldCase bool) bool {
	for _, p := range patterns {
		if foldCase {
			if wildcard(strings.ToLower(p), strings.ToLower(s)) {
				return true
			}
		} else if wildcard(p, s) {
			return true
		}
	}
	return false
}

// wildcard matches s against an IAM pattern: * is any run of characters (including none and
// including "/" and ":"), ? exactly one character. Linear time: the classic greedy match with
// one backtrack point, so a hostile pattern cannot make it exponential.
func wildcard(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*': // before the literal case: a "*" in s is not a match for it
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
