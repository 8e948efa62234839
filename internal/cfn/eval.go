package cfn

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Evaluation bounds: a template is small; these stop alias bombs and runaway nesting.
const (
	maxDepth = 200
	maxSteps = 1 << 18
)

// noValue is what Ref AWS::NoValue evaluates to: the enclosing property or list item is removed.
type noValueT struct{}

var noValue = noValueT{}

// Evaluated values are: string, bool, nil, []any, map[string]any, or noValue. Numbers stay the
// strings they were written as; CloudFormation passes them on as text.

// shortTags maps a YAML short-form tag to its long-form function name.
var shortTags = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Join": "Fn::Join", "!Select": "Fn::Select",
	"!Split": "Fn::Split", "!If": "Fn::If", "!Equals": "Fn::Equals", "!Not": "Fn::Not",
	"!And": "Fn::And", "!Or": "Fn::Or", "!FindInMap": "Fn::FindInMap", "!Base64": "Fn::Base64",
	"!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue", "!Cidr": "Fn::Cidr",
	"!Transform": "Fn::Transform", "!Length": "Fn::Length", "!ToJsonString": "Fn::ToJsonString",
}

// isIntrinsic reports whether n is a function call (short tag or one-key Fn:: mapping).
func isIntrinsic(n *yaml.Node) bool {
	if _, ok := shortTags[n.Tag]; ok {
		return true
	}
	name, _ := longForm(n)
	return name != ""
}

// longForm returns the function name and argument of a one-key mapping {Fn::X: arg} or
// {Ref: arg}; "" when n is not one.
func longForm(n *yaml.Node) (string, *yaml.Node) {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return "", nil
	}
	k := n.Content[0].Value
	switch {
	case k == "Ref", strings.HasPrefix(k, "Fn::"):
		return k, n.Content[1]
	case k == "Condition" && deref(n.Content[1]).Kind == yaml.ScalarNode:
		return k, n.Content[1]
	}
	return "", nil
}

// eval resolves n and every intrinsic function inside it.
func (t *template) eval(n *yaml.Node, path string, depth int) (any, error) {
	t.steps++
	if t.steps > maxSteps {
		return nil, t.errAt(n, path, "template too complex to evaluate (alias or nesting blow-up)")
	}
	if depth > maxDepth {
		return nil, t.errAt(n, path, fmt.Sprintf("nested more than %d levels", maxDepth))
	}
	n = deref(n)
	if name, ok := shortTags[n.Tag]; ok {
		arg := *n
		arg.Tag = ""
		if arg.Kind == yaml.ScalarNode {
			arg.Tag = "!!str"
		}
		return t.call(name, &arg, n, path, depth+1)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			b, err := strconv.ParseBool(strings.ToLower(n.Value))
			if err != nil {
				return n.Value, nil
			}
			return b, nil
		case "!!str", "!!int", "!!float", "!!timestamp", "!!binary":
			return n.Value, nil
		}
		return nil, t.errAt(n, path, "unknown tag "+n.Tag+" (known short forms: !Ref, !Sub, !GetAtt, !Join, !If...)")
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := t.eval(c, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			if v != noValue {
				out = append(out, v)
			}
		}
		return out, nil
	case yaml.MappingNode:
		if name, arg := longForm(n); name != "" {
			return t.call(name, arg, n, path, depth+1)
		}
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			v, err := t.eval(n.Content[i+1], path+"."+k, depth+1)
			if err != nil {
				return nil, err
			}
			if v != noValue {
				out[k] = v
			}
		}
		return out, nil
	}
	return nil, t.errAt(n, path, "unexpected YAML node")
}

// argList is a function's argument as a list of exactly want items (want < 0: any number).
func (t *template) argList(fn string, arg, at *yaml.Node, path string, want, depth int) ([]*yaml.Node, error) {
	arg = deref(arg)
	switch {
	case arg.Kind != yaml.SequenceNode && want < 0:
		return nil, t.errAt(at, path, fn+" takes a list")
	case arg.Kind != yaml.SequenceNode || (want >= 0 && len(arg.Content) != want):
		return nil, t.errAt(at, path, fmt.Sprintf("%s takes a list of %d items", fn, want))
	}
	return arg.Content, nil
}

func (t *template) evalString(n *yaml.Node, path string, depth int) (string, error) {
	v, err := t.eval(n, path, depth)
	if err != nil {
		return "", err
	}
	s, ok := asString(v)
	if !ok {
		return "", t.errAt(n, path, "expected a string, got "+describe(v))
	}
	return s, nil
}

func (t *template) evalList(n *yaml.Node, path string, depth int) ([]any, error) {
	v, err := t.eval(n, path, depth)
	if err != nil {
		return nil, err
	}
	l, ok := v.([]any)
	if !ok {
		return nil, t.errAt(n, path, "expected a list, got "+describe(v))
	}
	return l, nil
}

// condition evaluates a named condition once, detecting cycles.
func (t *template) condition(name string, at *yaml.Node, path string, depth int) (bool, error) {
	switch t.condState[name] {
	case 1:
		return false, t.errAt(at, path, "condition "+name+" refers to itself")
	case 2:
		return false, nil
	case 3:
		return true, nil
	}
	body, ok := t.conds[name]
	if !ok {
		return false, t.errAt(at, path, "no condition named "+strconvQuote(name)+" in Conditions")
	}
	t.condState[name] = 1
	v, err := t.eval(body, "Conditions."+name, depth+1)
	if err != nil {
		t.condState[name] = 0
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		t.condState[name] = 0
		return false, t.errAt(body, "Conditions."+name, "a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition, got "+describe(v))
	}
	t.condState[name] = 2
	if b {
		t.condState[name] = 3
	}
	return b, nil
}

func strconvQuote(s string) string { return strconv.Quote(s) }

// asString converts a scalar value to its text; lists and maps are not strings.
func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// canonical renders a value for Fn::Equals comparison.
func canonical(v any) string {
	if s, ok := asString(v); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// describe names a value's kind for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case []any:
		return "a list"
	case map[string]any:
		if len(x) == 1 {
			for k := range x {
				return "a mapping with key " + k
			}
		}
		return "a mapping"
	case noValueT:
		return "AWS::NoValue"
	}
	return fmt.Sprintf("%T", v)
}

// scalarText is the text of a literal scalar (or a list of them, comma-joined).
func scalarText(n *yaml.Node) (string, error) {
	n = deref(n)
	switch {
	case isIntrinsic(n):
		return "", fmt.Errorf("must be a literal, not an intrinsic function")
	case n.Kind == yaml.ScalarNode:
		return n.Value, nil
	case n.Kind == yaml.SequenceNode:
		parts := make([]string, len(n.Content))
		for i, c := range n.Content {
			c = deref(c)
			if c.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("must be a string or a list of strings")
			}
			parts[i] = c.Value
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("must be a string")
}
