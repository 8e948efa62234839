package cfn

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// fnCall is one intrinsic function call being evaluated: its name, its argument, the node the
// call is written at (for messages), its key path (ending in the function's name) and depth.
type fnCall struct {
	t     *template
	fn    string
	arg   *yaml.Node
	at    *yaml.Node
	path  string
	depth int
}

// call evaluates one intrinsic function; each function is a method of fnCall below.
func (t *template) call(fn string, arg, at *yaml.Node, path string, depth int) (any, error) {
	c := fnCall{t: t, fn: fn, arg: arg, at: at, path: path + "." + fn, depth: depth}
	switch fn {
	case "Ref":
		return c.ref()
	case "Fn::GetAtt":
		return c.getAtt()
	case "Fn::Sub":
		return t.sub(arg, at, c.path, depth)
	case "Fn::Join":
		return c.join()
	case "Fn::Select":
		return c.selectItem()
	case "Fn::Split":
		return c.split()
	case "Fn::If":
		return c.ifThen()
	case "Condition":
		return c.condition()
	case "Fn::Equals":
		return c.equals()
	case "Fn::Not", "Fn::And", "Fn::Or":
		return c.logic()
	case "Fn::FindInMap":
		return c.findInMap()
	case "Fn::Base64":
		return c.base64()
	case "Fn::GetAZs":
		return c.getAZs()
	case "Fn::Length":
		return c.length()
	case "Fn::ToJsonString":
		return c.toJSONString()
	case "Fn::ImportValue":
		return nil, c.errorf("Fn::ImportValue reads another stack's outputs, which wsgate cannot see; replace it with a Parameter and give --parameter")
	}
	return nil, c.errorf(fn + " is not supported by wsgate's template reader")
}

// errorf is an error at the call's node and path.
func (c fnCall) errorf(msg string) error { return c.t.errAt(c.at, c.path, msg) }

// items is the argument as a list of exactly want nodes (want < 0: any number).
func (c fnCall) items(want int) ([]*yaml.Node, error) {
	return c.t.argList(c.fn, c.arg, c.at, c.path, want, c.depth)
}

func (c fnCall) eval(n *yaml.Node) (any, error)          { return c.t.eval(n, c.path, c.depth) }
func (c fnCall) evalString(n *yaml.Node) (string, error) { return c.t.evalString(n, c.path, c.depth) }
func (c fnCall) evalList(n *yaml.Node) ([]any, error)    { return c.t.evalList(n, c.path, c.depth) }

// stringAndList evaluates a [string, list] argument (Fn::Join, Fn::Select).
func (c fnCall) stringAndList() (string, []any, error) {
	items, err := c.items(2)
	if err != nil {
		return "", nil, err
	}
	s, err := c.evalString(items[0])
	if err != nil {
		return "", nil, err
	}
	list, err := c.evalList(items[1])
	if err != nil {
		return "", nil, err
	}
	return s, list, nil
}

// ref: Ref name, a parameter, pseudo parameter or resource.
func (c fnCall) ref() (any, error) {
	name, err := c.evalString(c.arg)
	if err != nil {
		return nil, err
	}
	return c.t.ref(name, c.at, c.path)
}

// getAtt: Fn::GetAtt "Resource.Attribute" or [Resource, Attribute].
func (c fnCall) getAtt() (any, error) {
	a := deref(c.arg)
	if a.Kind == yaml.ScalarNode {
		res, attr, ok := strings.Cut(a.Value, ".")
		if !ok {
			return nil, c.errorf("Fn::GetAtt takes \"Resource.Attribute\" or [Resource, Attribute]")
		}
		return c.t.getAtt(res, attr, c.at, c.path)
	}
	items, err := c.t.argList(c.fn, a, c.at, c.path, 2, c.depth)
	if err != nil {
		return nil, err
	}
	res, err := c.evalString(items[0])
	if err != nil {
		return nil, err
	}
	attr, err := c.evalString(items[1])
	if err != nil {
		return nil, err
	}
	return c.t.getAtt(res, attr, c.at, c.path)
}

// join: Fn::Join [separator, [strings]].
func (c fnCall) join() (any, error) {
	sep, list, err := c.stringAndList()
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(list))
	for i, v := range list {
		s, ok := asString(v)
		if !ok {
			return nil, c.errorf("Fn::Join can only join strings, got " + describe(v))
		}
		parts[i] = s
	}
	return strings.Join(parts, sep), nil
}

// selectItem: Fn::Select [index, list].
func (c fnCall) selectItem() (any, error) {
	is, list, err := c.stringAndList()
	if err != nil {
		return nil, err
	}
	i, err := strconv.Atoi(strings.TrimSpace(is))
	if err != nil || i < 0 || i >= len(list) {
		return nil, c.errorf(fmt.Sprintf("Fn::Select index %q is out of range for a list of %d", is, len(list)))
	}
	return list[i], nil
}

// split: Fn::Split [delimiter, string].
func (c fnCall) split() (any, error) {
	items, err := c.items(2)
	if err != nil {
		return nil, err
	}
	sep, err := c.evalString(items[0])
	if err != nil {
		return nil, err
	}
	s, err := c.evalString(items[1])
	if err != nil {
		return nil, err
	}
	if sep == "" {
		return nil, c.errorf("Fn::Split needs a non-empty delimiter")
	}
	var out []any
	for _, p := range strings.Split(s, sep) {
		out = append(out, p)
	}
	return out, nil
}

// ifThen: Fn::If [condition, value if true, value if false]; only the chosen value is evaluated.
func (c fnCall) ifThen() (any, error) {
	items, err := c.items(3)
	if err != nil {
		return nil, err
	}
	name, err := c.evalString(items[0])
	if err != nil {
		return nil, err
	}
	ok, err := c.t.condition(name, c.at, c.path, c.depth)
	if err != nil {
		return nil, err
	}
	if ok {
		return c.eval(items[1])
	}
	return c.eval(items[2])
}

// condition: Condition name, inside a condition.
func (c fnCall) condition() (any, error) {
	name, err := c.evalString(c.arg)
	if err != nil {
		return nil, err
	}
	return c.t.condition(name, c.at, c.path, c.depth)
}

// equals: Fn::Equals [a, b], compared as text (see canonical).
func (c fnCall) equals() (any, error) {
	items, err := c.items(2)
	if err != nil {
		return nil, err
	}
	a, err := c.eval(items[0])
	if err != nil {
		return nil, err
	}
	b, err := c.eval(items[1])
	if err != nil {
		return nil, err
	}
	return canonical(a) == canonical(b), nil
}

// logic: Fn::Not [condition], Fn::And and Fn::Or [2 to 10 conditions]. Every condition is
// evaluated (and must be a boolean) before the result is known.
func (c fnCall) logic() (any, error) {
	vals, err := c.conditions()
	if err != nil {
		return nil, err
	}
	switch c.fn {
	case "Fn::Not":
		return !vals[0], nil
	case "Fn::And":
		for _, b := range vals {
			if !b {
				return false, nil
			}
		}
		return true, nil
	default:
		for _, b := range vals {
			if b {
				return true, nil
			}
		}
		return false, nil
	}
}

// conditions evaluates the argument list of Fn::Not, Fn::And or Fn::Or to booleans.
func (c fnCall) conditions() ([]bool, error) {
	want := -1
	if c.fn == "Fn::Not" {
		want = 1
	}
	items, err := c.items(want)
	if err != nil {
		return nil, err
	}
	if c.fn != "Fn::Not" && (len(items) < 2 || len(items) > 10) {
		return nil, c.errorf(c.fn + " takes 2 to 10 conditions")
	}
	vals := make([]bool, len(items))
	for i, it := range items {
		v, err := c.eval(it)
		if err != nil {
			return nil, err
		}
		b, ok := v.(bool)
		if !ok {
			return nil, c.t.errAt(it, c.path, c.fn+" takes conditions (Fn::Equals, Condition...), got "+describe(v))
		}
		vals[i] = b
	}
	return vals, nil
}

// findInMap: Fn::FindInMap [MapName, TopLevelKey, SecondLevelKey] in the template's Mappings.
func (c fnCall) findInMap() (any, error) {
	items, err := c.items(-1)
	if err != nil {
		return nil, err
	}
	if len(items) < 3 {
		return nil, c.errorf("Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]")
	}
	keys := make([]string, 3)
	for i := range keys {
		if keys[i], err = c.evalString(items[i]); err != nil {
			return nil, err
		}
	}
	n := c.t.mappings
	for i, k := range keys {
		if n = mappingValue(n, k); n == nil {
			return nil, c.errorf(fmt.Sprintf("Mappings has no %q", strings.Join(keys[:i+1], ".")))
		}
	}
	return c.eval(n)
}

// mappingValue is the value of key k in mapping n, or nil when n is not a mapping or lacks k.
func mappingValue(n *yaml.Node, k string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == k {
			return deref(n.Content[j+1])
		}
	}
	return nil
}

// base64: Fn::Base64 string.
func (c fnCall) base64() (any, error) {
	s, err := c.evalString(c.arg)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

// getAZs: Fn::GetAZs region ("" for the stack's), three zones a, b and c.
func (c fnCall) getAZs() (any, error) {
	r, err := c.evalString(c.arg)
	if err != nil {
		return nil, err
	}
	if r == "" {
		r = c.t.region()
	}
	return []any{r + "a", r + "b", r + "c"}, nil
}

// length: Fn::Length list, as text like every number here.
func (c fnCall) length() (any, error) {
	l, err := c.evalList(c.arg)
	if err != nil {
		return nil, err
	}
	return strconv.Itoa(len(l)), nil
}

// toJSONString: Fn::ToJsonString value.
func (c fnCall) toJSONString() (any, error) {
	v, err := c.eval(c.arg)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, c.errorf(err.Error())
	}
	return string(b), nil
}
