package cfn

import (
	"errors"
	"regexp"
	"strings"

	"github.com/wsgate/wsgate/internal/config"
)

var (
	// arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations
	invocationARN = regexp.MustCompile(`^arn:[^:]+:apigateway:[^:]*:lambda:path/[^/]+/functions/(.+)/invocations$`)
	// arn:aws:lambda:{region}:{account}:function:{name}[:{qualifier}]
	functionARN = regexp.MustCompile(`^arn:[^:]+:lambda:([^:]*):[^:]*:function:([^:]+)(?::([^:]+))?$`)
	// arn:aws:apigateway:{region}:{service}:{action/X | path/X}
	serviceARN = regexp.MustCompile(`^arn:[^:]+:apigateway:[^:]*:([^:]+):(.+)$`)
	stageVar   = regexp.MustCompile(`\$\{stageVariables\.([A-Za-z0-9_]+)\}`)
)

// function registers a Lambda or SAM function under its logical id and its name.
func (m *mapper) function(r *resource) {
	m.fnByName[r.id] = r
	m.fnByName[m.t.functionName(r)] = r
	if r.typ == "AWS::Serverless::Function" {
		if n := propNode(r, "Events"); n != nil {
			if v, err := m.t.eval(n, "", 0); err != nil || v != noValue {
				m.t.warn(r.id, "Events", "event sources are not used by wsgate (the WebSocket API comes from the ApiGatewayV2 resources); ignored")
			}
		}
	}
}

// lambdaTarget is a function an integration or authorizer calls.
type lambdaTarget struct {
	uri      string // function name, with :qualifier when the ARN had one
	region   string // region of the ARN, when it names one
	endpoint string // --function endpoint; empty means real AWS Lambda
}

// resolveLambda maps an IntegrationUri/AuthorizerUri to a function. Stage variables in it are
// resolved against the served stage, since the function must be known to pick its endpoint.
func (m *mapper) resolveLambda(r *resource, key, uri string) (lambdaTarget, error) {
	t := m.t
	var missing string
	uri = stageVar.ReplaceAllStringFunc(uri, func(s string) string {
		name := stageVar.FindStringSubmatch(s)[1]
		v, ok := m.stageVars[name]
		if !ok {
			missing = name
		}
		return v
	})
	if missing != "" {
		return lambdaTarget{}, t.errAt(propNode(r, key), propPath(r, key), "uses ${stageVariables."+missing+"}, which the served stage does not define")
	}
	fn := uri
	if sm := invocationARN.FindStringSubmatch(uri); sm != nil {
		fn = sm[1]
	}
	var lt lambdaTarget
	var name string
	if sm := functionARN.FindStringSubmatch(fn); sm != nil {
		name, lt.region = sm[2], sm[1]
		lt.uri = name
		if sm[3] != "" {
			lt.uri += ":" + sm[3]
		}
	} else if fn != "" && !strings.ContainsAny(fn, ":/") {
		name, lt.uri = fn, fn
	} else {
		return lambdaTarget{}, t.errAt(propNode(r, key), propPath(r, key), strconvQuote(uri)+" is not a Lambda function; write !Sub arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Function.Arn}/invocations")
	}
	if lt.region == t.region() {
		lt.region = ""
	}
	fr := m.fnByName[name]
	for _, k := range m.fnKeys(fr, name) {
		if ep, ok := t.o.Functions[k]; ok {
			lt.endpoint = ep
			m.usedFn[k] = true
			break
		}
	}
	if lt.endpoint == "" && fr != nil && !m.noted[name] {
		// A function of the template with its code here: wsgate runs it.
		fn, ok, err := m.localFunction(fr)
		if err != nil {
			var e *Error
			if key == "AuthorizerUri" && errors.As(err, &e) {
				e.Msg += "; or, if it checks JWTs, give --jwt-authorizer " + r.id + " with --jwt-secret or --jwt-jwks-url to check them in wsgate instead"
			}
			return lambdaTarget{}, err
		}
		if ok {
			m.noted[name] = true
			if m.cfg.Functions == nil {
				m.cfg.Functions = map[string]config.Function{}
			}
			m.cfg.Functions[m.t.functionName(fr)] = fn
		}
	}
	if lt.endpoint == "" && !m.noted[name] {
		m.noted[name] = true
		if fr != nil {
			t.warn(fr.id, "", "no --function "+fr.id+"=URL given; calls go to the real AWS Lambda function "+strconvQuote(name)+m.functionNote(fr))
		} else {
			t.warn(r.id, key, "calls the AWS Lambda function "+strconvQuote(name)+", which is not in the template; give --function "+name+"=URL for a local endpoint")
		}
	}
	return lt, nil
}

// fnKeys lists the --function keys that name a function: its logical id, then its name.
func (m *mapper) fnKeys(fr *resource, name string) []string {
	if fr == nil {
		return []string{name}
	}
	return []string{fr.id, m.t.functionName(fr), name}
}

// functionNote describes a function's code for the warning, from Runtime, Handler and
// CodeUri/ImageUri, as far as they are literal.
func (m *mapper) functionNote(r *resource) string {
	var parts []string
	for _, k := range []string{"Runtime", "Handler", "CodeUri", "ImageUri", "PackageType"} {
		n := propNode(r, k)
		if n == nil && r.typ == "AWS::Serverless::Function" && m.t.globalFn != nil {
			n = propNode(&resource{props: m.t.globalFn}, k)
		}
		if n != nil {
			if s, err := m.t.evalString(n, propPath(r, k), 0); err == nil && s != "" {
				parts = append(parts, k+" "+s)
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// serviceAction names an AWS service integration for messages: "dynamodb:PutItem".
func serviceAction(uri string) string {
	sm := serviceARN.FindStringSubmatch(uri)
	if sm == nil {
		return uri
	}
	rest := sm[2]
	if a, ok := strings.CutPrefix(rest, "action/"); ok {
		return sm[1] + ":" + a
	}
	if sm[1] == "lambda" {
		return "lambda, non-proxy"
	}
	return sm[1] + ":" + rest
}

// checkOptions rejects --function, --jwt-authorizer and --standin entries that name nothing.
func (m *mapper) checkOptions() error {
	t := m.t
	for _, k := range sortedKeys(t.o.Functions) {
		if m.usedFn[k] {
			continue
		}
		if _, isFn := m.fnByName[k]; isFn {
			continue // a function of the template that no route calls; harmless
		}
		return &Error{File: t.file, Path: "Resources", Msg: "--function " + k + ": no function in the template has that logical id or FunctionName, and no integration calls it (functions: " + strings.Join(sortedKeys(m.fnByName), ", ") + ")"}
	}
	for _, k := range sortedKeys(t.o.JWTAuthorizers) {
		if !m.usedJWT[k] {
			have := "the API has no authorizers"
			if len(m.cfg.Authorizers) > 0 {
				have = "authorizers: " + strings.Join(sortedKeys(m.cfg.Authorizers), ", ")
			}
			return &Error{File: t.file, Path: "Resources", Msg: "--jwt-authorizer " + k + ": no authorizer of the served API has that logical id or Name (" + have + ")"}
		}
	}
	for _, k := range sortedKeys(t.o.Standins) {
		in, ok := m.cfg.Integrations[k]
		if !ok {
			return &Error{File: t.file, Path: "Resources", Msg: "--standin " + k + ": no integration has that logical id (integrations: " + strings.Join(sortedKeys(m.cfg.Integrations), ", ") + ")"}
		}
		if in.Type != "AWS" {
			return &Error{File: t.file, Path: "Resources." + k, Msg: "--standin " + k + ": the integration is " + in.Type + ", not an AWS service integration; stand-ins replace AWS integrations only"}
		}
	}
	return nil
}
