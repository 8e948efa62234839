package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/wsgate/wsgate/internal/awsservice"
	"github.com/wsgate/wsgate/internal/routing"
	"github.com/wsgate/wsgate/internal/vtl"
)

var (
	integrationTypes = []string{HTTPProxy, HTTP, AWSProxy, AWS, Mock}
	httpMethods      = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	passthroughs     = []string{WhenNoMatch, WhenNoTemplates, Never}
	authorizerTypes  = []string{JWT, Request}
	jwtAlgorithms    = append(slices.Clone(hmacAlgorithms), jwksAlgorithms...)

	stageVarRefRE = regexp.MustCompile(`\$\{stageVariables\.([^}]*)\}`)
	paramNameRE   = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`) // an HTTP token
	contextVarRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]*$`)

	// Lambda function references the Invoke API accepts, plus API Gateway's invocation URI.
	lambdaNameRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$`)
	lambdaARNRE    = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$`)
	lambdaPartRE   = regexp.MustCompile(`^[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$`)
	apigwInvokeRE  = regexp.MustCompile(`^arn:aws[a-z-]*:apigateway:[a-z0-9-]+:lambda:path/2015-03-31/functions/(.+)/invocations$`)
	lambdaExamples = "write a function name (my-function), a function ARN (arn:aws:lambda:us-east-1:123456789012:function:my-function) or an API Gateway invocation URI"
)

func knownType(t string) bool { return slices.Contains(integrationTypes, t) }

func isProxy(t string) bool { return t == HTTPProxy || t == AWSProxy }

// FunctionName returns the Lambda function reference to pass to the Invoke API for an
// AWS_PROXY integration (or a REQUEST authorizer's uri): a name or ARN as written, or the
// function ARN inside an API Gateway invocation URI
// (arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations).
// Stage variables are not resolved here.
func FunctionName(uri string) string {
	if m := apigwInvokeRE.FindStringSubmatch(uri); m != nil {
		return m[1]
	}
	return uri
}

func validLambda(uri string) bool {
	fn := FunctionName(uri)
	return lambdaNameRE.MatchString(fn) || lambdaARNRE.MatchString(fn) || lambdaPartRE.MatchString(fn)
}

// resolveStageVars replaces ${stageVariables.x} with the configured values, reporting names
// that are not defined.
func (v *validator) resolveStageVars(path, s string) (string, bool) {
	ok := true
	out := stageVarRefRE.ReplaceAllStringFunc(s, func(ref string) string {
		name := stageVarRefRE.FindStringSubmatch(ref)[1]
		val, found := v.c.StageVariables[name]
		if !found {
			ok = false
			v.add(path, "stage variable %q is not defined%s", name, v.stageVarHint(name))
		}
		return val
	})
	return out, ok
}

func (v *validator) stageVarHint(name string) string {
	if h := didYouMean(name, slices.Sorted(maps.Keys(v.c.StageVariables))); h != "" {
		return h
	}
	return "; add it under stageVariables:"
}

// httpURL checks an http(s) URL, resolving stage variables first. what names it in messages.
func (v *validator) httpURL(path, raw, example string) {
	s, ok := v.resolveStageVars(path, raw)
	if !ok {
		return
	}
	if msg := HTTPURLProblem(s); msg != "" {
		v.add(path, "%q %s; write e.g. %s", raw, msg, example)
	}
}

// placeholderRE finds a template's placeholder such as <your-url-domain> or {your-api-id}.
var placeholderRE = regexp.MustCompile(`<[^<>/]*>|\{[A-Za-z_-]*(?:your|YOUR|Your)[^{}/]*\}`)

// HTTPURLProblem says what is wrong with s as an integration's http(s) URL, "" when nothing:
// a placeholder left from a template ("has the placeholder <your-url-domain>: replace it with
// the backend's host"), a port that is not a number, a scheme other than http and https, no
// host. Integrations run the same check when they are built.
func HTTPURLProblem(s string) string {
	if m := placeholderRE.FindString(s); m != "" {
		return fmt.Sprintf("has the placeholder %s: replace it with the real value (the backend's host and port)", m)
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "invalid port") {
			port := s
			if i := strings.Index(s, "://"); i >= 0 {
				port = s[i+3:]
			}
			if i := strings.IndexAny(port, "/?#"); i >= 0 {
				port = port[:i]
			}
			if i := strings.LastIndexByte(port, ':'); i >= 0 {
				port = port[i+1:]
			}
			return fmt.Sprintf("has the port %q, which is not a number from 1 to 65535", port)
		}
		return "is not a URL (" + strings.TrimPrefix(err.Error(), "parse ") + ")"
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "is not an http:// or https:// URL"
	case u.Host == "":
		return "has no host"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("has the port %q, which is not a number from 1 to 65535", p)
		}
	}
	return ""
}

func (v *validator) lambda(path, raw string) {
	s, ok := v.resolveStageVars(path, raw)
	if !ok {
		return
	}
	if !validLambda(s) {
		v.add(path, "%q is not a Lambda function; %s", raw, lambdaExamples)
	}
}

func (v *validator) timeout(path string, d Duration) {
	if d < Duration(MinIntegrationTimeout) || d > Duration(MaxIntegrationTimeout) {
		v.add(path, "%s is out of range; AWS allows 50ms to 29s", d)
	}
}

func (v *validator) integration(p string, in Integration) {
	if in.Type == "" {
		v.add(p+".type", "required; write one of %s", strings.Join(integrationTypes, ", "))
		return
	}
	if !knownType(in.Type) {
		v.add(p+".type", "%q is not an integration type%s (one of %s)", in.Type, didYouMean(in.Type, integrationTypes), strings.Join(integrationTypes, ", "))
		return
	}
	if !slices.Contains(httpMethods, in.Method) {
		hint := ""
		if slices.Contains(httpMethods, strings.ToUpper(in.Method)) {
			hint = "; write it in capitals: " + strings.ToUpper(in.Method)
		}
		v.add(p+".method", "%q is not an HTTP method%s (one of %s)", in.Method, hint, strings.Join(httpMethods, ", "))
	}
	v.timeout(p+".timeout", in.Timeout)
	if !slices.Contains(passthroughs, in.PassthroughBehavior) {
		v.add(p+".passthroughBehavior", "%q is not a passthrough behavior%s (one of %s)", in.PassthroughBehavior,
			didYouMean(in.PassthroughBehavior, passthroughs), strings.Join(passthroughs, ", "))
	}
	only := func(field, types string) { v.add(p+"."+field, "only used by %s integrations; remove it", types) }

	switch in.Type {
	case HTTP, HTTPProxy:
		if in.URI == "" {
			v.add(p+".uri", "required for %s integrations; write the backend URL, e.g. http://127.0.0.1:3000/ws", in.Type)
		} else {
			v.httpURL(p+".uri", in.URI, "http://127.0.0.1:3000/ws")
		}
	case AWSProxy:
		if in.URI == "" {
			v.add(p+".uri", "required for AWS_PROXY integrations; %s", lambdaExamples)
		} else {
			v.lambda(p+".uri", in.URI)
		}
	case Mock:
		if in.URI != "" {
			v.add(p+".uri", "a MOCK integration calls no backend; remove uri")
		}
	case AWS:
		if in.URI == "" {
			v.add(p+".uri", "required for AWS integrations; write the service action, e.g. arn:aws:apigateway:us-east-1:dynamodb:action/PutItem")
		} else if _, err := awsservice.ParseURI(in.URI); err != nil && in.Standin == "" {
			v.add(p+".uri", "%s", err.Error())
		}
	}
	if in.CredentialsARN != "" && in.Type != AWS {
		only("credentialsArn", "AWS")
	}
	if in.Endpoint != "" {
		if in.Type != AWSProxy {
			only("endpoint", "AWS_PROXY")
		} else {
			v.httpURL(p+".endpoint", in.Endpoint, "http://127.0.0.1:9000 (a Lambda Invoke API emulator)")
		}
	}
	if in.Standin != "" {
		if in.Type != AWS {
			only("standin", "AWS")
		} else {
			v.httpURL(p+".standin", in.Standin, "http://127.0.0.1:3000/dynamodb")
		}
	}
	if isProxy(in.Type) {
		proxyOnly := func(field string) {
			v.add(p+"."+field, "%s integrations pass messages and answers through unchanged; templates and responses apply to HTTP, AWS and MOCK integrations only. Remove it, or use type %s",
				in.Type, strings.TrimSuffix(in.Type, "_PROXY"))
		}
		if len(in.RequestTemplates) > 0 {
			proxyOnly("requestTemplates")
		}
		if in.TemplateSelectionExpression != "" {
			proxyOnly("templateSelectionExpression")
		}
		if len(in.Responses) > 0 {
			proxyOnly("responses")
		}
	}
	if len(in.RequestParameters) > 0 && (in.Type == AWSProxy || in.Type == Mock) {
		only("requestParameters", "HTTP, HTTP_PROXY and AWS")
	} else {
		for _, target := range slices.Sorted(maps.Keys(in.RequestParameters)) {
			v.requestParameter(join(p, "requestParameters", target), target, in.RequestParameters[target])
		}
	}
	if e := in.TemplateSelectionExpression; e != "" {
		if _, err := routing.Compile(e); err != nil {
			v.add(join(p, "templateSelectionExpression"), "%v; write e.g. \\$default or ${request.body.type}", err)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(in.RequestTemplates)) {
		v.template(join(p, "requestTemplates", key), in.RequestTemplates[key])
	}
	for _, key := range slices.Sorted(maps.Keys(in.Responses)) {
		rp := join(p, "responses", key)
		if key != "$default" && key != `\$default` {
			if len(key) < 3 || key[0] != '/' || key[len(key)-1] != '/' {
				v.add(rp, "not a response key; write $default, or a /regex/ matched against the status code such as /2\\d\\d/")
			} else if _, err := regexp.Compile(key[1 : len(key)-1]); err != nil {
				v.add(rp, "the regex does not compile: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			}
		}
		for _, tk := range slices.Sorted(maps.Keys(in.Responses[key].Templates)) {
			v.template(join(rp, "templates", tk), in.Responses[key].Templates[tk])
		}
	}
}

// template checks a mapping template's size and parses it as serve will.
func (v *validator) template(path, t string) {
	if len(t) > MaxTemplateBytes {
		v.add(path, "the template is %d bytes; AWS's limit is 300KB", len(t))
		return
	}
	if _, err := vtl.Parse(t); err != nil {
		v.add(path, "the template does not parse: %v", err)
	}
}

const paramSources = "context.NAME, route.request.header.NAME, route.request.querystring.NAME, route.request.body.PATH, stageVariables.NAME or 'a literal' in single quotes"

// requestParameter checks one target: source entry (docs/aws-compatibility.md).
func (v *validator) requestParameter(path, target, source string) {
	switch {
	case strings.HasPrefix(target, "integration.request.header."), strings.HasPrefix(target, "integration.request.querystring."):
		n := target[len("integration.request."):]
		n = n[strings.IndexByte(n, '.')+1:]
		if n == "" {
			v.add(path, "names nothing; write %sNAME", target)
		} else if !paramNameRE.MatchString(n) {
			v.add(path, "%q is not a header or query string name", n)
		}
	case strings.HasPrefix(target, "integration.request.path."):
		v.add(path, "path parameters are not supported on WebSocket APIs; map to integration.request.header.NAME or integration.request.querystring.NAME")
	default:
		v.add(path, "not a request parameter target; write integration.request.header.NAME or integration.request.querystring.NAME")
	}
	v.paramSource(path, source)
}

func (v *validator) paramSource(path, s string) {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return
	}
	if strings.HasPrefix(s, "$") {
		v.add(path, "%q: write the source without the leading $, e.g. %s", s, strings.TrimPrefix(strings.TrimPrefix(s, "$"), "{"))
		return
	}
	for _, prefix := range []string{"route.request.header.", "route.request.querystring.", "route.request.body."} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			if rest == "" {
				v.add(path, "%q names nothing; write %s%s", s, prefix, map[bool]string{true: "PATH", false: "NAME"}[prefix == "route.request.body."])
			}
			return
		}
	}
	if rest, ok := strings.CutPrefix(s, "context."); ok {
		if !contextVarRE.MatchString(rest) {
			v.add(path, "%q is not a $context variable; write e.g. context.connectionId", s)
		}
		return
	}
	if rest, ok := strings.CutPrefix(s, "stageVariables."); ok {
		if _, found := v.c.StageVariables[rest]; !found {
			v.add(path, "stage variable %q is not defined%s", rest, v.stageVarHint(rest))
		}
		return
	}
	v.add(path, "%q is not a request parameter source; write %s", s, paramSources)
}

// identitySource checks one identity source entry (docs/aws-compatibility.md).
func (v *validator) identitySource(path, s string) {
	for _, prefix := range []string{"route.request.header.", "route.request.querystring.", "stageVariables.", "context."} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			if rest == "" {
				v.add(path, "%q names nothing; write %sNAME", s, prefix)
			}
			return
		}
	}
	hint := "; write route.request.header.NAME, route.request.querystring.NAME, stageVariables.NAME or context.NAME"
	if rest, ok := strings.CutPrefix(s, "$request."); ok {
		hint = " (that is the HTTP API form); write route.request." + rest
	} else if rest, ok := strings.CutPrefix(s, "method.request."); ok {
		hint = " (that is the REST API form); write route.request." + rest
	}
	v.add(path, "%q is not an identity source%s", s, hint)
}

func (v *validator) authorizer(p string, a Authorizer) {
	if a.Type == "" {
		v.add(p+".type", "required; write JWT (tokens checked in-process) or REQUEST (a Lambda or HTTP function decides)")
		return
	}
	if !slices.Contains(authorizerTypes, a.Type) {
		v.add(p+".type", "%q is not an authorizer type%s", a.Type, orElse(didYouMean(a.Type, authorizerTypes), "; write JWT or REQUEST"))
		return
	}
	if len(a.IdentitySource) == 0 {
		v.add(p+".identitySource", "required; write e.g. route.request.querystring.token")
	}
	for i, s := range a.IdentitySource {
		v.identitySource(join(p, "identitySource", i), s)
	}
	notFor := func(field string) {
		v.add(p+"."+field, "not used by %s authorizers; remove it", a.Type)
	}
	switch a.Type {
	case JWT:
		v.jwt(p, a)
		if a.IntegrationType != "" {
			notFor("integrationType")
		}
		if a.URI != "" {
			notFor("uri")
		}
		if a.Endpoint != "" {
			notFor("endpoint")
		}
		if a.Timeout != 0 {
			notFor("timeout")
		}
	case Request:
		for field, set := range map[string]bool{"secret": a.Secret != "", "jwksUrl": a.JWKSURL != "", "issuer": a.Issuer != "",
			"audience": len(a.Audience) > 0, "algorithms": len(a.Algorithms) > 0, "leeway": a.Leeway != 0, "allowMissingExp": a.AllowMissingExp} {
			if set {
				notFor(field)
			}
		}
		switch a.IntegrationType {
		case AWSProxy:
			if a.URI == "" {
				v.add(p+".uri", "required; %s", lambdaExamples)
			} else {
				v.lambda(p+".uri", a.URI)
			}
			if a.Endpoint != "" {
				v.httpURL(p+".endpoint", a.Endpoint, "http://127.0.0.1:9000 (a Lambda Invoke API emulator)")
			}
		case HTTP:
			if a.URI == "" {
				v.add(p+".uri", "required; write the URL the authorizer event is POSTed to, e.g. http://127.0.0.1:3000/authorize")
			} else {
				v.httpURL(p+".uri", a.URI, "http://127.0.0.1:3000/authorize")
			}
			if a.Endpoint != "" {
				v.add(p+".endpoint", "only used with integrationType AWS_PROXY; remove it")
			}
		default:
			v.add(p+".integrationType", "%q is not supported; write AWS_PROXY (a Lambda function) or HTTP (a URL)%s", a.IntegrationType, didYouMean(a.IntegrationType, []string{AWSProxy, HTTP}))
		}
		v.timeout(p+".timeout", a.Timeout)
	}
	if a.ResultTTL < 0 || a.ResultTTL.D() > MaxAuthorizerResultTTL {
		v.add(p+".resultTtl", "%s is out of range; write 0 (no caching, as AWS) up to 1h", a.ResultTTL)
	}
}

func (v *validator) jwt(p string, a Authorizer) {
	switch {
	case a.Secret == "" && a.JWKSURL == "":
		v.add(p, "a JWT authorizer needs secret (for HS256/384/512) or jwksUrl (for RS*, ES*, PS*, EdDSA)")
	case a.Secret != "" && a.JWKSURL != "":
		v.add(p+".jwksUrl", "set secret or jwksUrl, not both: one authorizer checks one kind of key")
	case a.JWKSURL != "":
		v.httpURL(p+".jwksUrl", a.JWKSURL, "https://issuer.example.com/.well-known/jwks.json")
	}
	if a.Leeway < 0 {
		v.add(p+".leeway", "must not be negative; write e.g. 30s")
	}
	if a.UserIDClaim != "" && strings.TrimSpace(a.UserIDClaim) == "" {
		v.add(p+".userIdClaim", "is blank; write a claim name such as sub")
	}
	for i, alg := range a.Algorithms {
		ap := join(p, "algorithms", i)
		switch {
		case strings.EqualFold(alg, "none"):
			v.add(ap, "unsigned tokens are never accepted; remove none")
		case !slices.Contains(jwtAlgorithms, alg):
			v.add(ap, "%q is not a supported algorithm%s (one of %s)", alg, didYouMean(alg, jwtAlgorithms), strings.Join(jwtAlgorithms, ", "))
		case strings.HasPrefix(alg, "HS") && a.Secret == "":
			v.add(ap, "%s verifies with a shared secret; set secret, or remove %s", alg, alg)
		case !strings.HasPrefix(alg, "HS") && a.JWKSURL == "":
			v.add(ap, "%s verifies with a public key; set jwksUrl, or remove %s", alg, alg)
		}
	}
	if a.Issuer != "" && strings.TrimSpace(a.Issuer) == "" {
		v.add(p+".issuer", "is blank; write the expected iss claim or remove it")
	}
}
