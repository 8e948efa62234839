package cfn

import (
	"sort"
	"strings"

	"github.com/wsgate/wsgate/internal/config"
	"gopkg.in/yaml.v3"
)

// Resource types wsgate maps.
const (
	typeAPI                 = "AWS::ApiGatewayV2::Api"
	typeRoute               = "AWS::ApiGatewayV2::Route"
	typeRouteResponse       = "AWS::ApiGatewayV2::RouteResponse"
	typeIntegration         = "AWS::ApiGatewayV2::Integration"
	typeIntegrationResponse = "AWS::ApiGatewayV2::IntegrationResponse"
	typeAuthorizer          = "AWS::ApiGatewayV2::Authorizer"
	typeStage               = "AWS::ApiGatewayV2::Stage"
	typeDeployment          = "AWS::ApiGatewayV2::Deployment"
)

// typeMessages explains resource types a user may expect wsgate to serve.
var typeMessages = map[string]string{
	"AWS::Serverless::Api":             "REST APIs are not served by wsgate; ignored",
	"AWS::Serverless::HttpApi":         "HTTP APIs are not served by wsgate; ignored",
	"AWS::ApiGateway::RestApi":         "REST APIs are not served by wsgate; ignored",
	"AWS::ApiGatewayV2::ApiMapping":    "custom domains are not used; clients connect to wsgate's listener",
	"AWS::ApiGatewayV2::DomainName":    "custom domains are not used; clients connect to wsgate's listener",
	"AWS::DynamoDB::Table":             msgCreatedOnEmulator,
	"AWS::Serverless::SimpleTable":     msgCreatedOnEmulator,
	"AWS::SQS::Queue":                  msgCreatedOnEmulator,
	"AWS::StepFunctions::StateMachine": msgReferenced,
	"AWS::Serverless::StateMachine":    msgReferenced,
	"AWS::SNS::Topic":                  msgReferenced,
	"AWS::Events::EventBus":            msgReferenced,
	"AWS::IAM::Role":                   msgReferenced,
	"AWS::Logs::LogGroup":              msgReferenced,
}

const (
	msgReferenced        = "not deployed by wsgate; Ref and Fn::GetAtt give the names and ARNs CloudFormation would"
	msgCreatedOnEmulator = "not deployed by wsgate; serve --template creates it when the service's endpoint is a local emulator (never on AWS); Ref and Fn::GetAtt give the names and ARNs CloudFormation would"
)

// Import parses a template (YAML or JSON, detected) and returns the native config plus every
// unsupported thing, once each, in template order. Errors are *Error and name the file, the
// resource and property, and the line where known. The returned config is not validated;
// pass it to the config package's validation before serving.
func Import(name string, data []byte, o Options) (*config.Config, []Warning, error) {
	root, err := parseDocument(name, data)
	if err != nil {
		return nil, nil, err
	}
	t := &template{
		file: name, o: o,
		params: map[string]*param{}, conds: map[string]*yaml.Node{}, condState: map[string]int{},
		seen: map[string]bool{}, naming: map[string]bool{},
	}
	if err := t.load(root); err != nil {
		return nil, t.warns, err
	}
	m := &mapper{
		t:         t,
		cfg:       &config.Config{Region: t.region(), AccountID: t.accountID()},
		routeKeys: map[string]string{},
		fnByName:  map[string]*resource{},
		usedFn:    map[string]bool{},
		usedJWT:   map[string]bool{},
		noted:     map[string]bool{},
	}
	if err := m.run(); err != nil {
		return nil, t.warns, err
	}
	return m.cfg, t.warns, nil
}

// mapper turns the evaluated resources into a config.
type mapper struct {
	t         *template
	cfg       *config.Config
	api       *resource
	apiID     string
	stageVars map[string]string
	routeKeys map[string]string    // route logical id -> route key
	fnByName  map[string]*resource // function name and logical id -> function
	usedFn    map[string]bool      // --function keys that matched
	usedJWT   map[string]bool      // --jwt-authorizer keys that matched
	noted     map[string]bool      // functions already reported as real-AWS calls
}

func (m *mapper) run() error {
	t := m.t
	byType := map[string][]*resource{}
	for _, r := range t.resources {
		if r.cond != "" {
			on, err := t.condition(r.cond, r.node, "Resources."+r.id+".Condition", 0)
			if err != nil {
				return err
			}
			if !on {
				continue
			}
		}
		byType[r.typ] = append(byType[r.typ], r)
	}
	if err := m.pickAPI(byType[typeAPI]); err != nil {
		return err
	}
	for _, r := range append(byType["AWS::Serverless::Function"], byType["AWS::Lambda::Function"]...) {
		m.function(r)
	}
	if err := m.stage(m.own(byType[typeStage]), m.own(byType[typeDeployment])); err != nil {
		return err
	}
	steps := []struct {
		typ string
		fn  func(*resource) error
	}{
		{typeIntegration, m.integration},
		{typeIntegrationResponse, m.integrationResponse},
		{typeAuthorizer, m.authorizer},
		{typeRoute, m.route},
		{typeRouteResponse, m.routeResponse},
	}
	for _, s := range steps {
		for _, r := range m.own(byType[s.typ]) {
			if err := s.fn(r); err != nil {
				return err
			}
		}
	}
	for _, r := range m.own(byType[typeDeployment]) {
		t.checkProps(r, deploymentProps)
	}
	if err := m.checkOptions(); err != nil {
		return err
	}
	// One warning per resource type wsgate does not use, listing its resources.
	handled := map[string]bool{typeAPI: true, typeRoute: true, typeRouteResponse: true, typeIntegration: true,
		typeIntegrationResponse: true, typeAuthorizer: true, typeStage: true, typeDeployment: true,
		"AWS::Serverless::Function": true, "AWS::Lambda::Function": true}
	for _, typ := range sortedKeys(byType) {
		if handled[typ] {
			continue
		}
		ids := make([]string, len(byType[typ]))
		for i, r := range byType[typ] {
			ids[i] = r.id
		}
		msg := typeMessages[typ]
		if msg == "" {
			msg = "not used by wsgate; ignored"
		}
		t.warn(strings.Join(ids, ", "), "", typ+": "+msg)
	}
	return nil
}

// pickAPI finds the one WebSocket API.
func (m *mapper) pickAPI(apis []*resource) error {
	var ws []*resource
	for _, r := range apis {
		p, _, err := m.t.propString(r, "ProtocolType")
		if err != nil {
			return err
		}
		if strings.EqualFold(p, "WEBSOCKET") {
			ws = append(ws, r)
			continue
		}
		m.t.warn(r.id, "ProtocolType", "an "+p+" API is not served by wsgate; it and its routes are ignored")
	}
	switch len(ws) {
	case 0:
		return &Error{File: m.t.file, Path: "Resources", Msg: "no " + typeAPI + " with ProtocolType WEBSOCKET; wsgate serves WebSocket APIs"}
	case 1:
	default:
		return m.t.errAt(ws[1].node, "Resources."+ws[1].id, "a second WebSocket API (after "+ws[0].id+"); wsgate serves one API per template")
	}
	r := ws[0]
	m.api, m.apiID = r, m.t.physicalID(r)
	m.cfg.APIID = m.apiID
	m.t.checkProps(r, apiProps)
	rse, _, err := m.t.propString(r, "RouteSelectionExpression")
	if err != nil {
		return err
	}
	m.cfg.RouteSelectionExpression = rse
	return nil
}

// own keeps the resources whose ApiId is the WebSocket API; others are reported once.
func (m *mapper) own(rs []*resource) []*resource {
	var out []*resource
	for _, r := range rs {
		id, ok, err := m.t.propString(r, "ApiId")
		switch {
		case err != nil || !ok:
			// An unresolvable or missing ApiId: assume the one API, as a one-API template means.
			out = append(out, r)
		case id == m.apiID:
			out = append(out, r)
		default:
			m.t.warn(r.id, "ApiId", "belongs to API "+id+", not the WebSocket API "+m.apiID+"; ignored")
		}
	}
	return out
}

// stage picks the served stage and reads its variables.
func (m *mapper) stage(stages, deployments []*resource) error {
	t := m.t
	type named struct {
		r    *resource
		name string
	}
	var all []named
	for _, r := range stages {
		n, err := t.requireString(r, "StageName")
		if err != nil {
			return err
		}
		all = append(all, named{r, n})
	}
	var pick *named
	switch {
	case len(all) == 0:
		m.cfg.Stage = t.o.Stage
		if m.cfg.Stage == "" {
			// A Deployment with StageName creates that stage.
			for _, d := range deployments {
				if s, ok, err := t.propString(d, "StageName"); err == nil && ok {
					m.cfg.Stage = s
					break
				}
			}
		}
		return nil
	case t.o.Stage != "":
		for i := range all {
			if all[i].name == t.o.Stage || all[i].r.id == t.o.Stage {
				pick = &all[i]
			}
		}
		if pick == nil {
			return &Error{File: t.file, Path: "Resources", Msg: "--stage " + t.o.Stage + ": the template has no such stage (stages: " + stageList(all, func(n named) string { return n.name }) + ")"}
		}
	case len(all) == 1:
		pick = &all[0]
	default:
		return &Error{File: t.file, Path: "Resources", Msg: "the template has several stages (" + stageList(all, func(n named) string { return n.name }) + "); wsgate serves one: give --stage NAME"}
	}
	for _, n := range all {
		if n.r != pick.r {
			t.warn(n.r.id, "", "stage "+n.name+" is not served (wsgate serves one stage, "+pick.name+"); ignored")
		}
	}
	r := pick.r
	m.cfg.Stage = pick.name
	t.checkProps(r, stageProps)
	vars, err := t.propStringMap(r, "StageVariables")
	if err != nil {
		return err
	}
	m.cfg.StageVariables, m.stageVars = vars, vars
	v, n, ok, err := t.prop(r, "DefaultRouteSettings")
	if err != nil {
		return err
	}
	if ok {
		settings, isMap := v.(map[string]any)
		if !isMap {
			return t.errAt(n, propPath(r, "DefaultRouteSettings"), "expected a mapping, got "+describe(v))
		}
		for _, k := range sortedKeys(settings) {
			msg := routeSettingsMsg[k]
			if msg == "" {
				msg = msgUnsupported
			}
			t.warn(r.id, "DefaultRouteSettings."+k, msg)
		}
	}
	return nil
}

func stageList[T any](all []T, name func(T) string) string {
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = name(a)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
