package cfn

import (
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Property tables: for each resource type wsgate maps, every property it knows. "" means the
// mapper reads it (or it is descriptive only, like Name and Tags); a message means the property
// is not honoured and is reported with that text. Properties missing from a table get
// msgUnsupported.
const msgUnsupported = "not supported; ignored"

var (
	apiProps = map[string]string{
		"Name": "", "Description": "", "Tags": "", "Version": "", "ProtocolType": "",
		"RouteSelectionExpression": "", "DisableExecuteApiEndpoint": "",
		"ApiKeySelectionExpression": "API keys are not supported; ignored",
		"DisableSchemaValidation":   "request models are not validated; ignored",
	}
	routeProps = map[string]string{
		"ApiId": "", "RouteKey": "", "Target": "", "AuthorizationType": "", "AuthorizerId": "",
		"RouteResponseSelectionExpression": "", "OperationName": "", "ApiKeyRequired": "",
		"AuthorizationScopes":      "authorization scopes are not supported; ignored",
		"ModelSelectionExpression": "request models are not validated; ignored",
		"RequestModels":            "request models are not validated; ignored",
		"RequestParameters":        "route request parameters are not validated; ignored",
	}
	routeResponseProps = map[string]string{
		"ApiId": "", "RouteId": "", "RouteResponseKey": "",
		"ModelSelectionExpression": "response models are not supported; ignored",
		"ResponseModels":           "response models are not supported; ignored",
	}
	integrationProps = map[string]string{
		"ApiId": "", "Description": "", "IntegrationType": "", "IntegrationUri": "",
		"IntegrationMethod": "", "RequestParameters": "", "RequestTemplates": "",
		"TemplateSelectionExpression": "", "TimeoutInMillis": "", "PassthroughBehavior": "",
		"ConnectionType": "", "PayloadFormatVersion": "",
		"ConnectionId":            "VPC links are not supported; the URI is called directly",
		"CredentialsArn":          "",
		"ContentHandlingStrategy": "not supported; frames pass through as text",
	}
	integrationResponseProps = map[string]string{
		"ApiId": "", "IntegrationId": "", "IntegrationResponseKey": "", "ResponseTemplates": "",
		"TemplateSelectionExpression": "",
		"ContentHandlingStrategy":     "not supported; frames pass through as text",
	}
	authorizerProps = map[string]string{
		"ApiId": "", "Name": "", "AuthorizerType": "", "AuthorizerUri": "", "IdentitySource": "",
		"AuthorizerResultTtlInSeconds": "",
		"AuthorizerCredentialsArn":     "wsgate calls the authorizer with its own AWS credentials; ignored",
	}
	stageProps = map[string]string{
		"ApiId": "", "StageName": "", "StageVariables": "", "DeploymentId": "", "Description": "",
		"Tags": "", "AutoDeploy": "", "DefaultRouteSettings": "",
		"RouteSettings":     "per-route settings (throttling, logging) are not enforced; ignored",
		"AccessLogSettings": "access logs follow wsgate's own log settings; ignored",
	}
	deploymentProps = map[string]string{"ApiId": "", "Description": "", "StageName": ""}
)

// routeSettingsMsg explains each DefaultRouteSettings key.
var routeSettingsMsg = map[string]string{
	"ThrottlingBurstLimit":   "throttling is not enforced; ignored",
	"ThrottlingRateLimit":    "throttling is not enforced; ignored",
	"DataTraceEnabled":       "execution logging follows wsgate's log level; ignored",
	"LoggingLevel":           "execution logging follows wsgate's log level; ignored",
	"DetailedMetricsEnabled": "wsgate always exports its own metrics; ignored",
}

// checkProps reports every property of r that table marks unsupported or does not know.
// Properties that evaluate to AWS::NoValue are absent and not reported.
func (t *template) checkProps(r *resource, table map[string]string) {
	if r.props == nil {
		return
	}
	for i := 0; i+1 < len(r.props.Content); i += 2 {
		k := r.props.Content[i].Value
		msg, known := table[k]
		if known && msg == "" {
			continue
		}
		if !known {
			msg = msgUnsupported
		}
		if v, err := t.eval(r.props.Content[i+1], "", 0); err == nil && v == noValue {
			continue
		}
		t.warn(r.id, k, msg)
	}
}

func propPath(r *resource, key string) string { return "Resources." + r.id + ".Properties." + key }

// prop evaluates a property; ok is false when it is absent or AWS::NoValue.
func (t *template) prop(r *resource, key string) (v any, n *yaml.Node, ok bool, err error) {
	n = propNode(r, key)
	if n == nil {
		return nil, nil, false, nil
	}
	v, err = t.eval(n, propPath(r, key), 0)
	if err != nil || v == noValue || v == nil {
		return nil, n, false, err
	}
	return v, n, true, nil
}

func (t *template) propString(r *resource, key string) (string, bool, error) {
	v, n, ok, err := t.prop(r, key)
	if !ok {
		return "", false, err
	}
	s, isStr := asString(v)
	if !isStr {
		return "", false, t.errAt(n, propPath(r, key), "expected a string, got "+describe(v))
	}
	return s, true, nil
}

func (t *template) requireString(r *resource, key string) (string, error) {
	s, ok, err := t.propString(r, key)
	if err != nil {
		return "", err
	}
	if !ok || s == "" {
		n := r.props
		if n == nil {
			n = r.node
		}
		return "", t.errAt(n, propPath(r, key), "is required for "+r.typ)
	}
	return s, nil
}

func (t *template) propInt(r *resource, key string) (int, bool, error) {
	s, ok, err := t.propString(r, key)
	if !ok {
		return 0, false, err
	}
	i, perr := strconv.Atoi(strings.TrimSpace(s))
	if perr != nil {
		if f, ferr := strconv.ParseFloat(strings.TrimSpace(s), 64); ferr == nil && f == float64(int(f)) {
			return int(f), true, nil
		}
		return 0, false, t.errAt(propNode(r, key), propPath(r, key), "expected a whole number, got "+strconvQuote(s))
	}
	return i, true, nil
}

func (t *template) propBool(r *resource, key string) (bool, error) {
	v, n, ok, err := t.prop(r, key)
	if !ok {
		return false, err
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(strings.ToLower(x)); err == nil {
			return b, nil
		}
	}
	return false, t.errAt(n, propPath(r, key), "expected true or false, got "+describe(v))
}

// propStringMap reads a mapping of strings (RequestParameters, RequestTemplates...).
func (t *template) propStringMap(r *resource, key string) (map[string]string, error) {
	v, n, ok, err := t.prop(r, key)
	if !ok {
		return nil, err
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		return nil, t.errAt(n, propPath(r, key), "expected a mapping of names to strings, got "+describe(v))
	}
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, isStr := asString(e)
		if !isStr {
			return nil, t.errAt(n, propPath(r, key)+"."+k, "expected a string, got "+describe(e))
		}
		out[k] = s
	}
	return out, nil
}

// propStringList reads a list of strings; a single string is split on commas, as AWS accepts
// "a, b" for IdentitySource.
func (t *template) propStringList(r *resource, key string) ([]string, error) {
	v, n, ok, err := t.prop(r, key)
	if !ok {
		return nil, err
	}
	switch x := v.(type) {
	case string:
		return splitList(x), nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, isStr := asString(e)
			if !isStr {
				return nil, t.errAt(n, propPath(r, key), "expected a list of strings, got an item that is "+describe(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, t.errAt(n, propPath(r, key), "expected a list of strings, got "+describe(v))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
