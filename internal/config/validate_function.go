package config

import (
	"regexp"
	"strings"
	"time"
)

var (
	functionNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	envNameRE      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	nodeRuntimeRE  = regexp.MustCompile(`^nodejs[0-9]+(\.[0-9x]+)?$`)
	pyRuntimeRE    = regexp.MustCompile(`^python3(\.[0-9]+)?$`)
	runtimeExample = "nodejs20.x, python3.12, provided.al2023, provided.al2 or go1.x"
)

// Lambda's limits for the function settings wsgate reads.
const (
	MaxFunctionTimeout = 900 * time.Second
	MinFunctionMemory  = 128
	MaxFunctionMemory  = 10240
)

// FunctionRuntimeFamily names how a runtime runs: "node", "python", "provided", "go", or ""
// for a runtime wsgate cannot run (java*, dotnet*, ruby*...).
func FunctionRuntimeFamily(runtime string) string {
	switch {
	case nodeRuntimeRE.MatchString(runtime):
		return "node"
	case pyRuntimeRE.MatchString(runtime):
		return "python"
	case runtime == "provided.al2023" || runtime == "provided.al2" || runtime == "provided":
		return "provided"
	case runtime == "go1.x":
		return "go"
	}
	return ""
}

// LocalFunction returns the functions: entry an AWS_PROXY uri (a name, name:qualifier, a
// function ARN or an API Gateway invocation URI) names, if there is one.
func (c *Config) LocalFunction(uri string) (string, bool) {
	fn := FunctionName(uri)
	if i := strings.Index(fn, ":function:"); i >= 0 {
		fn = fn[i+len(":function:"):]
	}
	if i := strings.IndexByte(fn, ':'); i >= 0 {
		fn = fn[:i]
	}
	_, ok := c.Functions[fn]
	return fn, ok
}

func (v *validator) function(p, name string, f Function) {
	if !functionNameRE.MatchString(name) {
		v.add(p, "%q is not a Lambda function name; use 1 to 64 letters, digits, - or _", name)
	}
	fam := FunctionRuntimeFamily(f.Runtime)
	switch {
	case f.Runtime == "":
		v.add(p+".runtime", "required; write one of %s", runtimeExample)
	case fam == "":
		v.add(p+".runtime", "%q cannot run in wsgate (it runs %s); for another runtime, run the function elsewhere and point the integration's endpoint: at a Lambda Invoke API (such as the Runtime Interface Emulator)", f.Runtime, runtimeExample)
	}
	switch {
	case f.CodeURI == "" && f.InlineCode == "":
		v.add(p+".codeUri", "required; write the directory (or .zip) holding the function's code, relative to this file")
	case f.CodeURI != "" && f.InlineCode != "":
		v.add(p+".inlineCode", "give codeUri or inlineCode, not both")
	case f.InlineCode != "" && fam != "node" && fam != "python":
		v.add(p+".inlineCode", "inline code is for nodejs* and python3.* functions (written to index.js or index.py)")
	}
	switch fam {
	case "node", "python":
		base := f.Handler[strings.LastIndex(f.Handler, "/")+1:]
		if i := strings.Index(base, "."); i <= 0 || i == len(base)-1 {
			ex := "src/app.handler (file app.js or app.mjs under src/, export handler)"
			if fam == "python" {
				ex = "app.lambda_handler (file app.py, function lambda_handler)"
			}
			v.add(p+".handler", "%q: write file.function, e.g. %s", f.Handler, ex)
		}
	case "go":
		if f.Handler == "" || strings.ContainsAny(f.Handler, `/\`) {
			v.add(p+".handler", "%q: for go1.x write the executable's name in codeUri, e.g. bootstrap", f.Handler)
		}
	}
	if f.BuildMethod != "" && (f.BuildMethod != "go1.x" || (fam != "provided" && fam != "go")) {
		v.add(p+".buildMethod", "%q: wsgate builds go1.x only (go build), for provided.al2023, provided.al2 and go1.x functions; build other code yourself", f.BuildMethod)
	}
	if d := f.Timeout.D(); d != 0 && (d < time.Second || d > MaxFunctionTimeout) {
		v.add(p+".timeout", "%s is out of range; Lambda allows 1s to 900s", d)
	}
	if m := f.MemorySize; m != 0 && (m < MinFunctionMemory || m > MaxFunctionMemory) {
		v.add(p+".memorySize", "%d is out of range; Lambda allows %d to %d (MB)", m, MinFunctionMemory, MaxFunctionMemory)
	}
	if f.Concurrency < 0 {
		v.add(p+".concurrency", "must not be negative (0 means the default, 10)")
	}
	for k := range f.Environment {
		if !envNameRE.MatchString(k) {
			v.add(Path(p+".environment", k), "%q is not an environment variable name; use letters, digits and _, starting with a letter", k)
		}
	}
}
