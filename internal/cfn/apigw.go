package cfn

import (
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/internal/awsservice"
	"github.com/wsgate/wsgate/internal/config"
)

const (
	disconnectKey         = "$disconnect"
	msgDisconnectResponse = "$disconnect cannot answer: the socket is already closed; route response ignored"
)

func (m *mapper) integration(r *resource) error {
	t := m.t
	t.checkProps(r, integrationProps)
	typ, err := t.requireString(r, "IntegrationType")
	if err != nil {
		return err
	}
	typ = strings.ToUpper(typ)
	in := config.Integration{Type: typ}
	uri, _, err := t.propString(r, "IntegrationUri")
	if err != nil {
		return err
	}
	method, _, err := t.propString(r, "IntegrationMethod")
	if err != nil {
		return err
	}
	switch typ {
	case config.AWSProxy:
		if uri == "" {
			return t.errAt(r.props, propPath(r, "IntegrationUri"), "is required for an AWS_PROXY integration (the Lambda function's invocation ARN)")
		}
		lt, err := m.resolveLambda(r, "IntegrationUri", uri)
		if err != nil {
			return err
		}
		in.URI, in.Endpoint, in.Region = lt.uri, lt.endpoint, lt.region
	case config.HTTP, config.HTTPProxy:
		if uri == "" {
			return t.errAt(r.props, propPath(r, "IntegrationUri"), "is required for an "+typ+" integration (the backend URL)")
		}
		// ${stageVariables.x} stays: wsgate resolves stage variables in HTTP URIs.
		in.URI, in.Method = uri, method
	case config.AWS:
		if uri == "" {
			return t.errAt(r.props, propPath(r, "IntegrationUri"), "is required for an AWS integration (arn:aws:apigateway:{region}:{service}:action/{Action})")
		}
		in.URI, in.Method = uri, method
		in.Standin = t.o.Standins[r.id]
		if in.CredentialsARN, _, err = t.propString(r, "CredentialsArn"); err != nil {
			return err
		}
		if in.Standin != "" {
			t.warn(r.id, "IntegrationUri", "AWS service integration ("+serviceAction(uri)+"): the rendered request goes to the stand-in "+in.Standin+" instead of the service")
		} else if _, err := awsservice.ParseURI(uri); err != nil {
			return t.errAt(propNode(r, "IntegrationUri"), propPath(r, "IntegrationUri"), err.Error()+"; or give --standin "+r.id+"=http://... to send the rendered request there")
		}
	case config.Mock:
	default:
		return t.errAt(propNode(r, "IntegrationType"), propPath(r, "IntegrationType"), strconvQuote(typ)+" is not an integration type; use AWS_PROXY, AWS, HTTP_PROXY, HTTP or MOCK")
	}
	if ct, ok, err := t.propString(r, "ConnectionType"); err != nil {
		return err
	} else if ok && ct != "INTERNET" {
		t.warn(r.id, "ConnectionType", ct+" is not supported; the URI is called directly")
	}
	if pf, ok, err := t.propString(r, "PayloadFormatVersion"); err != nil {
		return err
	} else if ok && pf != "1.0" {
		t.warn(r.id, "PayloadFormatVersion", "WebSocket APIs use payload format 1.0; "+pf+" ignored")
	}
	ms, ok, err := t.propInt(r, "TimeoutInMillis")
	if err != nil {
		return err
	}
	if ok {
		if ms < 50 || ms > 29000 {
			return t.errAt(propNode(r, "TimeoutInMillis"), propPath(r, "TimeoutInMillis"), strconv.Itoa(ms)+" is out of range; AWS allows 50 to 29000")
		}
		in.Timeout = config.Duration(time.Duration(ms) * time.Millisecond)
	}
	if in.RequestParameters, err = t.propStringMap(r, "RequestParameters"); err != nil {
		return err
	}
	if in.RequestTemplates, err = t.propStringMap(r, "RequestTemplates"); err != nil {
		return err
	}
	if in.TemplateSelectionExpression, _, err = t.propString(r, "TemplateSelectionExpression"); err != nil {
		return err
	}
	if in.PassthroughBehavior, _, err = t.propString(r, "PassthroughBehavior"); err != nil {
		return err
	}
	if typ == config.AWSProxy || typ == config.HTTPProxy {
		for _, k := range []string{"RequestTemplates", "TemplateSelectionExpression", "PassthroughBehavior"} {
			if propNode(r, k) != nil {
				t.warn(r.id, k, "has no effect on a "+typ+" integration; ignored")
			}
		}
		in.RequestTemplates, in.TemplateSelectionExpression, in.PassthroughBehavior = nil, "", ""
	}
	if m.cfg.Integrations == nil {
		m.cfg.Integrations = map[string]config.Integration{}
	}
	m.cfg.Integrations[r.id] = in
	return nil
}

// refID resolves a property that refers to another resource (RouteId, IntegrationId,
// AuthorizerId, Target) to a logical id of the wanted type.
func (m *mapper) refID(r *resource, key, prefix, typ string) (string, error) {
	t := m.t
	s, err := t.requireString(r, key)
	if err != nil {
		return "", err
	}
	id := strings.TrimPrefix(s, prefix)
	ref, ok := t.byID[id]
	if !ok || ref.typ != typ {
		return "", t.errAt(propNode(r, key), propPath(r, key), strconvQuote(s)+" does not name a "+typ+" of this template; use !Ref on one")
	}
	return id, nil
}

func (m *mapper) integrationResponse(r *resource) error {
	t := m.t
	t.checkProps(r, integrationResponseProps)
	id, err := m.refID(r, "IntegrationId", "", typeIntegration)
	if err != nil {
		return err
	}
	in, ok := m.cfg.Integrations[id]
	if !ok {
		t.warn(r.id, "IntegrationId", "integration "+id+" is not part of the served API; ignored")
		return nil
	}
	key, err := t.requireString(r, "IntegrationResponseKey")
	if err != nil {
		return err
	}
	var resp config.IntegrationResponse
	if resp.TemplateSelectionExpression, _, err = t.propString(r, "TemplateSelectionExpression"); err != nil {
		return err
	}
	if resp.Templates, err = t.propStringMap(r, "ResponseTemplates"); err != nil {
		return err
	}
	if in.Type == config.AWSProxy || in.Type == config.HTTPProxy {
		// Proxy integrations answer as they are; the response resource only makes the route
		// two-way on AWS (the RouteResponse does that here).
		if len(resp.Templates) > 0 {
			t.warn(r.id, "ResponseTemplates", "response templates have no effect on a "+in.Type+" integration; ignored")
		}
		return nil
	}
	if in.Responses == nil {
		in.Responses = map[string]config.IntegrationResponse{}
	}
	if _, dup := in.Responses[key]; dup {
		return t.errAt(propNode(r, "IntegrationResponseKey"), propPath(r, "IntegrationResponseKey"), "integration "+id+" already has a response with key "+strconvQuote(key))
	}
	in.Responses[key] = resp
	m.cfg.Integrations[id] = in
	return nil
}

func (m *mapper) authorizer(r *resource) error {
	t := m.t
	t.checkProps(r, authorizerProps)
	typ, err := t.requireString(r, "AuthorizerType")
	if err != nil {
		return err
	}
	if typ != config.Request {
		return t.errAt(propNode(r, "AuthorizerType"), propPath(r, "AuthorizerType"), strconvQuote(typ)+": WebSocket APIs take REQUEST authorizers")
	}
	if ok, err := m.jwtReplacement(r); ok || err != nil {
		return err
	}
	uri, err := t.requireString(r, "AuthorizerUri")
	if err != nil {
		return err
	}
	lt, err := m.resolveLambda(r, "AuthorizerUri", uri)
	if err != nil {
		return err
	}
	a := config.Authorizer{Type: config.Request, IntegrationType: config.AWSProxy, URI: lt.uri, Endpoint: lt.endpoint}
	if lt.region != "" {
		t.warn(r.id, "AuthorizerUri", "the function is in region "+lt.region+"; authorizers are called in the gateway's region")
	}
	ids, err := t.propStringList(r, "IdentitySource")
	if err != nil {
		return err
	}
	a.IdentitySource = config.StringList(ids)
	ttl, ok, err := t.propInt(r, "AuthorizerResultTtlInSeconds")
	if err != nil {
		return err
	}
	if ok {
		if ttl < 0 || ttl > 3600 {
			return t.errAt(propNode(r, "AuthorizerResultTtlInSeconds"), propPath(r, "AuthorizerResultTtlInSeconds"), strconv.Itoa(ttl)+" is out of range; use 0 to 3600")
		}
		a.ResultTTL = config.Duration(time.Duration(ttl) * time.Second)
	}
	if m.cfg.Authorizers == nil {
		m.cfg.Authorizers = map[string]config.Authorizer{}
	}
	m.cfg.Authorizers[r.id] = a
	return nil
}

// jwtReplacement puts Options.JWTAuthorizers' entry for authorizer r, if any, in the config in
// its place: ok reports that it did.
func (m *mapper) jwtReplacement(r *resource) (ok bool, err error) {
	t := m.t
	name, _, err := t.propString(r, "Name")
	if err != nil {
		return false, err
	}
	key := r.id
	jwt, found := t.o.JWTAuthorizers[key]
	if !found && name != "" {
		key = name
		jwt, found = t.o.JWTAuthorizers[key]
	}
	if !found {
		return false, nil
	}
	m.usedJWT[key] = true
	jwt.Type = config.JWT
	if len(jwt.IdentitySource) == 0 {
		ids, err := t.propStringList(r, "IdentitySource")
		if err != nil {
			return false, err
		}
		jwt.IdentitySource = config.StringList(ids)
	}
	if jwt.ResultTTL == 0 {
		if ttl, set, err := t.propInt(r, "AuthorizerResultTtlInSeconds"); err != nil {
			return false, err
		} else if set && ttl >= 0 && ttl <= 3600 {
			jwt.ResultTTL = config.Duration(time.Duration(ttl) * time.Second)
		}
	}
	t.warn(r.id, "", "replaced by wsgate's JWT authorizer (--jwt-authorizer "+key+"); the function AuthorizerUri names is not called")
	if m.cfg.Authorizers == nil {
		m.cfg.Authorizers = map[string]config.Authorizer{}
	}
	m.cfg.Authorizers[r.id] = jwt
	return true, nil
}

func (m *mapper) route(r *resource) error {
	t := m.t
	t.checkProps(r, routeProps)
	key, err := t.requireString(r, "RouteKey")
	if err != nil {
		return err
	}
	if other, dup := m.cfg.Routes[key]; dup {
		_ = other
		return t.errAt(propNode(r, "RouteKey"), propPath(r, "RouteKey"), "route key "+strconvQuote(key)+" is defined twice")
	}
	var rt config.Route
	if propNode(r, "Target") != nil {
		if _, ok, err := t.propString(r, "Target"); err != nil {
			return err
		} else if ok {
			id, err := m.refID(r, "Target", "integrations/", typeIntegration)
			if err != nil {
				return err
			}
			if _, served := m.cfg.Integrations[id]; !served {
				return t.errAt(propNode(r, "Target"), propPath(r, "Target"), "integration "+id+" is not part of the served API")
			}
			rt.Integration = id
		}
	}
	auth, _, err := t.propString(r, "AuthorizationType")
	if err != nil {
		return err
	}
	switch strings.ToUpper(auth) {
	case "", "NONE":
	case "CUSTOM":
		id, err := m.refID(r, "AuthorizerId", "", typeAuthorizer)
		if err != nil {
			return err
		}
		if _, ok := m.cfg.Authorizers[id]; !ok {
			return t.errAt(propNode(r, "AuthorizerId"), propPath(r, "AuthorizerId"), "authorizer "+id+" is not part of the served API")
		}
		if key != "$connect" {
			t.warn(r.id, "AuthorizerId", "authorizers run only on $connect, not on "+key+"; ignored")
		} else {
			rt.Authorizer = id
		}
	case "AWS_IAM":
		t.warn(r.id, "AuthorizationType", "AWS_IAM is not enforced; "+key+" accepts unsigned connections")
	default:
		t.warn(r.id, "AuthorizationType", auth+" is not supported on WebSocket APIs; the route is open")
	}
	if req, err := t.propBool(r, "ApiKeyRequired"); err != nil {
		return err
	} else if req {
		t.warn(r.id, "ApiKeyRequired", "API keys are not supported; the route is open")
	}
	if rrse, ok, err := t.propString(r, "RouteResponseSelectionExpression"); err != nil {
		return err
	} else if ok && rrse != "" {
		if key == disconnectKey {
			t.warn(r.id, "RouteResponseSelectionExpression", msgDisconnectResponse)
		} else {
			rt.RouteResponse = true
		}
	}
	if m.cfg.Routes == nil {
		m.cfg.Routes = map[string]config.Route{}
	}
	m.cfg.Routes[key] = rt
	m.routeKeys[r.id] = key
	return nil
}

func (m *mapper) routeResponse(r *resource) error {
	t := m.t
	t.checkProps(r, routeResponseProps)
	id, err := m.refID(r, "RouteId", "", typeRoute)
	if err != nil {
		return err
	}
	key, ok := m.routeKeys[id]
	if !ok {
		t.warn(r.id, "RouteId", "route "+id+" is not part of the served API; ignored")
		return nil
	}
	rk, err := t.requireString(r, "RouteResponseKey")
	if err != nil {
		return err
	}
	if rk != "$default" {
		t.warn(r.id, "RouteResponseKey", "WebSocket route responses use the key $default; "+strconvQuote(rk)+" is treated as $default")
	}
	if key == disconnectKey {
		t.warn(r.id, "", msgDisconnectResponse)
		return nil
	}
	rt := m.cfg.Routes[key]
	rt.RouteResponse = true
	m.cfg.Routes[key] = rt
	return nil
}
