package integration

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/routing"
	"github.com/wsgate/wsgate/internal/vtl"
)

// Templates of non-proxy integrations (docs/aws-compatibility.md): a request template chosen by
// the templateSelectionExpression transforms the frame into the backend request; an integration
// response chosen by the status code transforms the answer.

const defaultKey = "$default"

// requestTemplates is a compiled requestTemplates + templateSelectionExpression +
// passthroughBehavior. Immutable after compile.
type requestTemplates struct {
	sel         *routing.Expr // nil: the key is $default
	tmpls       map[string]*vtl.Template
	passthrough string
}

func compileRequestTemplates(cfg config.Integration) (*requestTemplates, error) {
	rt := &requestTemplates{passthrough: cfg.PassthroughBehavior}
	switch rt.passthrough {
	case "":
		rt.passthrough = config.WhenNoMatch
	case config.WhenNoMatch, config.WhenNoTemplates, config.Never:
	default:
		return nil, fmt.Errorf("passthroughBehavior %q: use WHEN_NO_MATCH (default), WHEN_NO_TEMPLATES or NEVER", cfg.PassthroughBehavior)
	}
	var err error
	if rt.sel, err = compileSelection(cfg.TemplateSelectionExpression); err != nil {
		return nil, fmt.Errorf("templateSelectionExpression: %w", err)
	}
	if rt.tmpls, err = parseTemplates(cfg.RequestTemplates); err != nil {
		return nil, fmt.Errorf("requestTemplates%w", err)
	}
	return rt, nil
}

func compileSelection(expr string) (*routing.Expr, error) {
	if expr == "" {
		return nil, nil
	}
	return routing.Compile(expr)
}

func parseTemplates(m map[string]string) (map[string]*vtl.Template, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]*vtl.Template, len(m))
	for k, src := range m {
		t, err := vtl.Parse(src)
		if err != nil {
			return nil, fmt.Errorf("[%q]: %w", k, err)
		}
		out[k] = t
	}
	return out, nil
}

// pick returns the template for key, else the $default one, else nil.
func pick(tmpls map[string]*vtl.Template, sel *routing.Expr, body []byte, vars func(string) (string, bool)) *vtl.Template {
	if len(tmpls) == 0 {
		return nil
	}
	if sel != nil {
		if key, ok := sel.EvalWith(body, vars); ok {
			if t := tmpls[key]; t != nil {
				return t
			}
		}
	}
	return tmpls[defaultKey]
}

// render transforms frame into the integration request body. passed is true when no template
// matched and the frame went through unchanged (WHEN_NO_MATCH, or WHEN_NO_TEMPLATES without
// templates); under NEVER, or WHEN_NO_TEMPLATES with templates, that is ErrUnsupportedMediaType.
func (rt *requestTemplates) render(td *templateData) (out []byte, passed bool, err error) {
	t := pick(rt.tmpls, rt.sel, td.frame, td.lookup)
	if t == nil {
		if rt.passthrough == config.Never || (rt.passthrough == config.WhenNoTemplates && len(rt.tmpls) > 0) {
			return nil, false, ErrUnsupportedMediaType
		}
		return td.frame, true, nil
	}
	s, err := t.Render(td.input(string(td.frame)))
	if err != nil {
		return nil, false, fmt.Errorf("render request template: %w", err)
	}
	return []byte(s), false, nil
}

// templateData is what templates and selection expressions of one call can read.
type templateData struct {
	ev        *event.Event
	frame     []byte
	ctxVars   map[string]string
	stageVars map[string]string
	header    map[string]string
	// the integration response, once there is one
	resp *Response
}

func newTemplateData(ev *event.Event, frame []byte, stageVars map[string]string) *templateData {
	h := make(map[string]string, len(ev.Headers)+1)
	for k, v := range ev.Headers {
		h[k] = v
	}
	// wsgate's stand-in for the CloudFront ws-uri header AWS users add: templates that read
	// $input.params('ws-uri') get the path after the stage.
	h["ws-uri"] = pathOf(ev)
	return &templateData{ev: ev, frame: frame, ctxVars: ev.RequestContext.ContextVars(), stageVars: stageVars, header: h}
}

func (td *templateData) input(body string) *vtl.Input {
	return &vtl.Input{
		Body:           body,
		Context:        td.ctxVars,
		StageVariables: td.stageVars,
		Header:         td.header,
		QueryString:    td.ev.QueryStringParameters,
	}
}

// lookup resolves the non-body variables of selection expressions.
func (td *templateData) lookup(name string) (string, bool) {
	switch {
	case strings.HasPrefix(name, "context."):
		v, ok := td.ctxVars[name[len("context."):]]
		return v, ok
	case strings.HasPrefix(name, "stageVariables."):
		v, ok := td.stageVars[name[len("stageVariables."):]]
		return v, ok
	case strings.HasPrefix(name, "request.header."):
		return headerValue(td.header, name[len("request.header."):])
	case strings.HasPrefix(name, "request.querystring."):
		v, ok := td.ev.QueryStringParameters[name[len("request.querystring."):]]
		return v, ok
	}
	if td.resp == nil {
		return "", false
	}
	switch {
	case name == "integration.response.statuscode":
		return strconv.Itoa(td.resp.StatusCode), true
	case strings.HasPrefix(name, "integration.response.header."):
		v := td.resp.Header.Values(name[len("integration.response.header."):])
		if len(v) == 0 {
			return "", false
		}
		return v[len(v)-1], true
	case strings.HasPrefix(name, "integration.response.multivalueheader."):
		v := td.resp.Header.Values(name[len("integration.response.multivalueheader."):])
		return strings.Join(v, ","), len(v) > 0
	}
	return "", false
}

// responseSet is a compiled map of integration responses.
type responseSet struct {
	keyed []*integrationResponse // sorted by key, so the first match is stable
	def   *integrationResponse
}

type integrationResponse struct {
	key   string
	re    *regexp.Regexp
	sel   *routing.Expr
	tmpls map[string]*vtl.Template
}

func compileResponses(m map[string]config.IntegrationResponse) (*responseSet, error) {
	rs := &responseSet{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cfg := m[k]
		ir := &integrationResponse{key: k}
		var err error
		if ir.sel, err = compileSelection(cfg.TemplateSelectionExpression); err != nil {
			return nil, fmt.Errorf("responses[%q].templateSelectionExpression: %w", k, err)
		}
		if ir.tmpls, err = parseTemplates(cfg.Templates); err != nil {
			return nil, fmt.Errorf("responses[%q].templates%w", k, err)
		}
		if k == defaultKey || k == `\$default` {
			rs.def = ir
			continue
		}
		// AWS writes the keys as /regex/, matched against the whole status code. A bare key
		// ("200", "2\d\d") is taken as the same regex.
		pat := k
		if len(pat) >= 2 && pat[0] == '/' && pat[len(pat)-1] == '/' {
			pat = pat[1 : len(pat)-1]
		}
		if pat == "" {
			return nil, fmt.Errorf("responses[%q]: empty key: write $default or a status regex such as /2\\d\\d/", k)
		}
		if ir.re, err = regexp.Compile(`^(?:` + pat + `)$`); err != nil {
			return nil, fmt.Errorf("responses[%q]: %w: write $default or a status regex such as /2\\d\\d/", k, err)
		}
		rs.keyed = append(rs.keyed, ir)
	}
	return rs, nil
}

// match picks the integration response for status: the first /regex/ key that matches it whole,
// else $default, else nil.
func (rs *responseSet) match(status int) *integrationResponse {
	if len(rs.keyed) > 0 {
		s := strconv.Itoa(status)
		for _, ir := range rs.keyed {
			if ir.re.MatchString(s) {
				return ir
			}
		}
	}
	return rs.def
}

// apply transforms the backend's answer r in place through the matching integration response:
// its selected template (or $default template) rendered with $input.body = r.Body. No matching
// response, or a response without a usable template, leaves r.Body as the backend sent it.
func (rs *responseSet) apply(r *Response, td *templateData) error {
	ir := rs.match(r.StatusCode)
	if ir == nil {
		return nil
	}
	td.resp = r
	t := pick(ir.tmpls, ir.sel, td.frame, td.lookup)
	if t == nil {
		return nil
	}
	s, err := t.Render(td.input(string(r.Body)))
	if err != nil {
		return fmt.Errorf("render integration response %q: %w", ir.key, err)
	}
	r.Body = []byte(s)
	return nil
}

// mapped is the part HTTP, AWS and MOCK integrations share: request templates in, integration
// responses out.
type mapped struct {
	req       *requestTemplates
	resp      *responseSet
	stageVars map[string]string
}

func newMapped(cfg config.Integration, o Options) (mapped, error) {
	req, err := compileRequestTemplates(cfg)
	if err != nil {
		return mapped{}, err
	}
	resp, err := compileResponses(cfg.Responses)
	if err != nil {
		return mapped{}, err
	}
	return mapped{req: req, resp: resp, stageVars: o.StageVariables}, nil
}
