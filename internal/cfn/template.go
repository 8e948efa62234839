package cfn

import (
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// template is a parsed template plus the state of its evaluation. Not safe for concurrent use;
// one Import owns it.
type template struct {
	file      string
	o         Options
	params    map[string]*param
	mappings  *yaml.Node
	conds     map[string]*yaml.Node
	condState map[string]int // 0 unseen, 1 evaluating, 2 false, 3 true
	resources []*resource
	byID      map[string]*resource
	steps     int
	warns     []Warning
	seen      map[string]bool
	naming    map[string]bool // functions whose FunctionName is being evaluated
	globalFn  *yaml.Node      // SAM Globals.Function, for describing functions
}

// param is a declared template parameter.
type param struct {
	name    string
	typ     string
	node    *yaml.Node // the declaration
	value   *string    // override or Default; nil when neither
	allowed []string
	pattern string
}

// resource is one entry of Resources.
type resource struct {
	id    string
	typ   string
	node  *yaml.Node
	props *yaml.Node // mapping, or nil
	cond  string
}

// topLevel lists the template sections and whether wsgate reads them.
var topLevel = map[string]string{
	"AWSTemplateFormatVersion": "",
	"Description":              "",
	"Metadata":                 "",
	"Parameters":               "",
	"Mappings":                 "",
	"Conditions":               "",
	"Resources":                "",
	"Outputs":                  "",
	"Globals":                  "",
	"Transform":                "",
	"Rules":                    "rules (parameter assertions) are not evaluated; ignored",
	"Hooks":                    "not supported; ignored",
}

func (t *template) warn(res, prop, msg string) {
	t.warnW(Warning{Resource: res, Property: prop, Message: msg})
}

func (t *template) warnW(w Warning) {
	k := w.String()
	if t.seen[k] {
		return
	}
	t.seen[k] = true
	t.warns = append(t.warns, w)
}

func (t *template) errAt(n *yaml.Node, path, msg string) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &Error{File: t.file, Line: line, Path: path, Msg: msg}
}

// load reads the sections of root into t.
func (t *template) load(root *yaml.Node) error {
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		msg, known := topLevel[k.Value]
		switch {
		case !known:
			t.warn("", k.Value, "unknown template section; ignored")
		case msg != "":
			t.warn("", k.Value, msg)
		}
		switch k.Value {
		case "Parameters":
			if err := t.loadParams(v); err != nil {
				return err
			}
		case "Mappings":
			t.mappings = deref(v)
		case "Conditions":
			v = deref(v)
			if v.Kind != yaml.MappingNode {
				return t.errAt(v, "Conditions", "must be a mapping of condition names to conditions")
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				t.conds[v.Content[j].Value] = v.Content[j+1]
			}
		case "Transform":
			t.checkTransform(v)
		case "Globals":
			if g := deref(v); g.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(g.Content); j += 2 {
					if g.Content[j].Value == "Function" {
						t.globalFn = deref(g.Content[j+1])
					}
				}
			}
		case "Resources":
			if err := t.loadResources(v); err != nil {
				return err
			}
		}
	}
	if t.byID == nil {
		return t.errAt(root, "Resources", "the template has no Resources section")
	}
	for k := range t.o.Parameters {
		if _, ok := t.params[k]; !ok {
			return &Error{File: t.file, Path: "Parameters", Msg: "--parameter " + k + ": the template declares no such parameter (declared: " + strings.Join(sortedKeys(t.params), ", ") + ")"}
		}
	}
	return nil
}

func (t *template) checkTransform(v *yaml.Node) {
	v = deref(v)
	var names []string
	switch v.Kind {
	case yaml.ScalarNode:
		names = []string{v.Value}
	case yaml.SequenceNode:
		for _, c := range v.Content {
			names = append(names, deref(c).Value)
		}
	}
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "AWS::Serverless-"), n == "AWS::LanguageExtensions":
		default:
			t.warn("", "Transform", "transform "+n+" is not applied; resources it would create are missing")
		}
	}
}

func (t *template) loadParams(v *yaml.Node) error {
	v = deref(v)
	if v.Kind != yaml.MappingNode {
		return t.errAt(v, "Parameters", "must be a mapping of parameter names to declarations")
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		name, decl := v.Content[i].Value, deref(v.Content[i+1])
		path := "Parameters." + name
		if decl.Kind != yaml.MappingNode {
			return t.errAt(decl, path, "must be a mapping with at least Type")
		}
		p := &param{name: name, node: decl, typ: "String"}
		for j := 0; j+1 < len(decl.Content); j += 2 {
			k, val := decl.Content[j].Value, deref(decl.Content[j+1])
			switch k {
			case "Type":
				p.typ = val.Value
			case "Default":
				s, err := scalarText(val)
				if err != nil {
					return t.errAt(val, path+".Default", err.Error())
				}
				p.value = &s
			case "AllowedValues":
				for _, c := range val.Content {
					p.allowed = append(p.allowed, deref(c).Value)
				}
			case "AllowedPattern":
				p.pattern = val.Value
			}
		}
		if s, ok := t.o.Parameters[name]; ok {
			p.value = &s
		}
		if p.value != nil {
			if len(p.allowed) > 0 && !p.allows(*p.value) {
				return t.errAt(decl, path, "value \""+*p.value+"\" is not one of AllowedValues ["+strings.Join(p.allowed, ", ")+"]; give --parameter "+name+"=VALUE")
			}
			if p.pattern != "" {
				// Patterns are Java regexes; RE2 reads most of them. One it cannot read is not
				// checked (AWS would check it at deploy time).
				if re, err := regexp.Compile("^(?:" + p.pattern + ")$"); err == nil && !re.MatchString(*p.value) {
					return t.errAt(decl, path, "value \""+*p.value+"\" does not match AllowedPattern "+p.pattern)
				}
			}
		}
		t.params[name] = p
	}
	return nil
}

func (p *param) allows(s string) bool {
	if strings.HasPrefix(p.typ, "List<") || p.typ == "CommaDelimitedList" {
		for _, e := range splitList(s) {
			if !slices.Contains(p.allowed, e) {
				return false
			}
		}
		return true
	}
	return slices.Contains(p.allowed, s)
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func (t *template) loadResources(v *yaml.Node) error {
	v = deref(v)
	if v.Kind != yaml.MappingNode {
		return t.errAt(v, "Resources", "must be a mapping of logical ids to resources")
	}
	t.byID = map[string]*resource{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		id, n := v.Content[i].Value, deref(v.Content[i+1])
		path := "Resources." + id
		if n.Kind != yaml.MappingNode {
			return t.errAt(n, path, "must be a mapping with Type and Properties")
		}
		if _, dup := t.byID[id]; dup {
			return t.errAt(v.Content[i], path, "logical id defined twice")
		}
		r := &resource{id: id, node: n}
		for j := 0; j+1 < len(n.Content); j += 2 {
			k, val := n.Content[j].Value, deref(n.Content[j+1])
			switch k {
			case "Type":
				r.typ = val.Value
			case "Properties":
				if val.Kind == yaml.MappingNode && !isIntrinsic(val) {
					r.props = val
				} else if !(val.Kind == yaml.ScalarNode && val.ShortTag() == "!!null") {
					return t.errAt(val, path+".Properties", "must be a plain mapping (an intrinsic function around all of Properties is not supported)")
				}
			case "Condition":
				r.cond = val.Value
			}
		}
		if r.typ == "" {
			return t.errAt(n, path, "has no Type")
		}
		t.byID[id] = r
		t.resources = append(t.resources, r)
	}
	return nil
}

// deref follows YAML aliases.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}
