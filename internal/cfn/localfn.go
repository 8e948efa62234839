package cfn

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/internal/config"
	"gopkg.in/yaml.v3"
)

// localFunction maps a template function that an integration or authorizer calls to the
// native config's functions: section, so that wsgate runs it (docs/functions.md). ok is false
// when its code is not here (in S3, or CodeUri missing): a warning says so and the caller keeps
// the real-AWS call. A runtime wsgate cannot run (java, dotnet, ruby, an image) is an error
// naming the function and --function.
func (m *mapper) localFunction(r *resource) (config.Function, bool, error) {
	t := m.t
	name := t.functionName(r)
	var fn config.Function
	sam := r.typ == "AWS::Serverless::Function"
	str := func(key string) (string, *yaml.Node, error) {
		v, n, ok, err := m.fnProp(r, key)
		if err != nil || !ok {
			return "", n, err
		}
		s, isStr := asString(v)
		if !isStr {
			if f, isNum := v.(float64); isNum {
				return strconv.FormatFloat(f, 'f', -1, 64), n, nil
			}
			if i, isInt := v.(int); isInt {
				return strconv.Itoa(i), n, nil
			}
			return "", n, t.errAt(n, propPath(r, key), "expected a string, got "+describe(v))
		}
		return s, n, nil
	}
	alt := "; give --function " + r.id + "=URL for a Lambda Invoke API endpoint that runs it (such as the Lambda Runtime Interface Emulator)"
	if pt, n, err := str("PackageType"); err != nil {
		return fn, false, err
	} else if strings.EqualFold(pt, "Image") {
		return fn, false, t.errAt(n, propPath(r, "PackageType"), "function "+r.id+" is a container image, which wsgate cannot run"+alt)
	}
	if iu, n, err := str("ImageUri"); err != nil {
		return fn, false, err
	} else if iu != "" {
		return fn, false, t.errAt(n, propPath(r, "ImageUri"), "function "+r.id+" is a container image, which wsgate cannot run"+alt)
	}
	rt, rtNode, err := str("Runtime")
	if err != nil {
		return fn, false, err
	}
	if config.FunctionRuntimeFamily(rt) == "" {
		n := rtNode
		if n == nil {
			n = r.node
		}
		what := "has no Runtime"
		if rt != "" {
			what = "has Runtime " + rt + ", which wsgate cannot run (it runs nodejs*, python3.*, provided.al2023, provided.al2 and go1.x)"
		}
		return fn, false, t.errAt(n, propPath(r, "Runtime"), "function "+r.id+" "+what+alt)
	}
	fn.Runtime = rt
	if fn.Handler, _, err = str("Handler"); err != nil {
		return fn, false, err
	}
	// The code: SAM's CodeUri / InlineCode, Lambda's Code.
	base := filepath.Dir(t.file)
	codeNote := ""
	if sam {
		if fn.InlineCode, _, err = str("InlineCode"); err != nil {
			return fn, false, err
		}
		v, n, ok, err := m.fnProp(r, "CodeUri")
		if err != nil {
			return fn, false, err
		}
		switch x := v.(type) {
		case string:
			fn.CodeURI = x
		case map[string]any:
			codeNote = "its CodeUri is in S3"
		default:
			if ok {
				return fn, false, t.errAt(n, propPath(r, "CodeUri"), "expected a path or {Bucket, Key}, got "+describe(v))
			}
		}
	} else {
		v, n, ok, err := t.prop(r, "Code")
		if err != nil {
			return fn, false, err
		}
		if c, isMap := v.(map[string]any); isMap {
			if z, isStr := c["ZipFile"].(string); isStr {
				fn.InlineCode = z
			} else if _, img := c["ImageUri"]; img {
				return fn, false, t.errAt(n, propPath(r, "Code"), "function "+r.id+" is a container image, which wsgate cannot run"+alt)
			} else {
				codeNote = "its Code is in S3"
			}
		} else if ok {
			return fn, false, t.errAt(n, propPath(r, "Code"), "expected {ZipFile} or {S3Bucket, S3Key}, got "+describe(v))
		}
	}
	if fn.CodeURI != "" {
		p := fn.CodeURI
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		if _, err := os.Stat(p); err != nil {
			codeNote = "its CodeUri is not on this machine"
		}
		fn.CodeURI = p
	}
	if codeNote == "" && fn.CodeURI == "" && fn.InlineCode == "" {
		codeNote = "it has no CodeUri or inline code"
	}
	if codeNote != "" {
		if !m.noted[name] {
			m.noted[name] = true
			t.warn(r.id, "", "no --function "+r.id+"=URL given and wsgate cannot run the function here ("+codeNote+"); calls go to the real AWS Lambda function "+strconvQuote(name)+m.functionNote(r))
		}
		return fn, false, nil
	}
	if v, n, ok, err := m.fnProp(r, "Timeout"); err != nil {
		return fn, false, err
	} else if ok {
		secs, perr := number(v)
		if perr != nil || secs < 1 || secs > 900 {
			return fn, false, t.errAt(n, propPath(r, "Timeout"), "expected whole seconds from 1 to 900, got "+describe(v))
		}
		fn.Timeout = config.Duration(time.Duration(secs) * time.Second)
	}
	if v, n, ok, err := m.fnProp(r, "MemorySize"); err != nil {
		return fn, false, err
	} else if ok {
		mb, perr := number(v)
		if perr != nil || mb < config.MinFunctionMemory || mb > config.MaxFunctionMemory {
			return fn, false, t.errAt(n, propPath(r, "MemorySize"), "expected MB from 128 to 10240, got "+describe(v))
		}
		fn.MemorySize = mb
	}
	if v, n, ok, err := t.prop(r, "ReservedConcurrentExecutions"); err != nil {
		return fn, false, err
	} else if ok {
		c, perr := number(v)
		if perr != nil || c < 0 {
			return fn, false, t.errAt(n, propPath(r, "ReservedConcurrentExecutions"), "expected a whole number, got "+describe(v))
		}
		if c == 0 {
			t.warn(r.id, "ReservedConcurrentExecutions", "0 turns the function off on AWS; wsgate runs it with the default concurrency")
		}
		fn.Concurrency = c
	}
	env, err := m.fnEnvironment(r)
	if err != nil {
		return fn, false, err
	}
	fn.Environment = env
	if bm := metadataString(r, "BuildMethod"); bm != "" {
		if strings.EqualFold(bm, "go1.x") {
			fn.BuildMethod = "go1.x"
		} else {
			t.warn(r.id, "", "Metadata.BuildMethod "+bm+": wsgate builds go1.x only; build the code yourself (wsgate runs CodeUri as it is)")
		}
	}
	return fn, true, nil
}

// fnProp is a property of a function, falling back to Globals.Function for SAM functions.
func (m *mapper) fnProp(r *resource, key string) (any, *yaml.Node, bool, error) {
	v, n, ok, err := m.t.prop(r, key)
	if ok || err != nil || r.typ != "AWS::Serverless::Function" || m.t.globalFn == nil {
		return v, n, ok, err
	}
	g := &resource{id: r.id, typ: r.typ, props: m.t.globalFn}
	return m.t.prop(g, key)
}

// fnEnvironment is Environment.Variables, over Globals.Function's for a SAM function.
func (m *mapper) fnEnvironment(r *resource) (map[string]string, error) {
	out := map[string]string{}
	read := func(res *resource) error {
		v, n, ok, err := m.t.prop(res, "Environment")
		if err != nil || !ok {
			return err
		}
		e, isMap := v.(map[string]any)
		if !isMap {
			return m.t.errAt(n, propPath(r, "Environment"), "expected {Variables: {...}}, got "+describe(v))
		}
		vars, isMap := e["Variables"].(map[string]any)
		if !isMap {
			if e["Variables"] == nil {
				return nil
			}
			return m.t.errAt(n, propPath(r, "Environment.Variables"), "expected a mapping of names to strings, got "+describe(e["Variables"]))
		}
		for k, x := range vars {
			s, isStr := asString(x)
			if !isStr {
				if f, isNum := x.(float64); isNum {
					s = strconv.FormatFloat(f, 'f', -1, 64)
				} else if i, isInt := x.(int); isInt {
					s = strconv.Itoa(i)
				} else {
					return m.t.errAt(n, propPath(r, "Environment.Variables."+k), "expected a string, got "+describe(x))
				}
			}
			out[k] = s
		}
		return nil
	}
	if r.typ == "AWS::Serverless::Function" && m.t.globalFn != nil {
		if err := read(&resource{id: r.id, typ: r.typ, props: m.t.globalFn}); err != nil {
			return nil, err
		}
	}
	if err := read(r); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// number reads a whole number the evaluator produced (a string or a number).
func number(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case float64:
		if x == float64(int(x)) {
			return int(x), nil
		}
	case string:
		return strconv.Atoi(strings.TrimSpace(x))
	}
	return 0, strconv.ErrSyntax
}

// metadataString reads a resource's Metadata.KEY scalar (SAM's Metadata.BuildMethod).
func metadataString(r *resource, key string) string {
	n := deref(r.node)
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "Metadata" {
			continue
		}
		md := deref(n.Content[i+1])
		for j := 0; md.Kind == yaml.MappingNode && j+1 < len(md.Content); j += 2 {
			if md.Content[j].Value == key && md.Content[j+1].Kind == yaml.ScalarNode {
				return md.Content[j+1].Value
			}
		}
	}
	return ""
}
