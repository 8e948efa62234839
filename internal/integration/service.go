package integration

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/wsgate/wsgate/internal/awsservice"
	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
)

// awsService is an AWS service integration (DynamoDB PutItem, Step Functions StartExecution,
// SQS SendMessage...), sent the way API Gateway sends it: the rendered request template goes to
// the service's endpoint in the service's protocol, signed with SigV4 (see awsservice.NewRequest
// for the request shapes). The service's status and body go through the integration responses,
// so an error such as ConditionalCheckFailedException (400) is matched by its status as on
// AWS. A call that fails at the transport level is an integration failure.
type awsService struct {
	name   string
	target *awsservice.Target
	ep     awsservice.Endpoint
	region string
	method string
	role   string
	params params
	aws    *awsservice.Client
	client *http.Client
	m      mapped
}

// awsStandin is an AWS integration with standin: set: the rendered request template is POSTed
// to that HTTP URL instead, with header X-Wsgate-Aws-Uri naming the service action. It is the
// fallback for services no emulator is at hand for.
type awsStandin struct {
	t *httpTarget
	m mapped
}

// AWSURIHeader carries an AWS integration's uri (the service action) to its stand-in.
const AWSURIHeader = "X-Wsgate-Aws-Uri"

func newAWSService(name string, cfg config.Integration, o Options) (Integration, error) {
	if cfg.Standin != "" {
		return newAWSStandin(cfg, o)
	}
	if cfg.URI == "" {
		return nil, fmt.Errorf("uri is missing: set uri: to arn:aws:apigateway:{region}:{service}:action/{Action} or ...:path/{path}")
	}
	target, err := awsservice.ParseURI(cfg.URI)
	if err != nil {
		return nil, err
	}
	client := o.AWS
	if client == nil {
		if client, err = awsservice.New(context.Background(), awsservice.Options{Region: o.Region, Logger: o.Logger}); err != nil {
			return nil, err
		}
	}
	region := target.Region
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		region = client.Region()
	}
	ep, err := client.Resolve(context.Background(), target.Service, region)
	if err != nil {
		return nil, err
	}
	ps, err := compileParams(cfg.RequestParameters, o.StageVariables)
	if err != nil {
		return nil, err
	}
	m, err := newMapped(cfg, o)
	if err != nil {
		return nil, err
	}
	o.Logger.Debug("AWS service integration", "integration", name, "target", target.String(),
		"endpoint", ep.URL.Redacted(), "endpointSource", ep.Source, "region", region)
	return &awsService{
		name: name, target: target, ep: ep, region: region, method: cfg.Method, role: cfg.CredentialsARN,
		params: ps, aws: client, client: o.HTTPClient, m: m,
	}, nil
}

func newAWSStandin(cfg config.Integration, o Options) (*awsStandin, error) {
	t, err := newHTTPTarget(cfg.Method, cfg.Standin, o.StageVariables, cfg.RequestParameters, o)
	if err != nil {
		return nil, fmt.Errorf("standin: %w", err)
	}
	t.forward = false
	if cfg.URI != "" {
		t.extra = http.Header{AWSURIHeader: {cfg.URI}}
	}
	m, err := newMapped(cfg, o)
	if err != nil {
		return nil, err
	}
	return &awsStandin{t: t, m: m}, nil
}

func (a *awsStandin) Invoke(ctx context.Context, ev *event.Event) (*Response, error) {
	return a.m.call(ctx, ev, a.t, time.Time{})
}

func (a *awsService) Invoke(ctx context.Context, ev *event.Event) (*Response, error) {
	frame, err := frameBody(ev)
	if err != nil {
		return nil, err
	}
	td := newTemplateData(ev, frame, a.m.stageVars)
	payload, _, err := a.m.req.render(td)
	if err != nil {
		return nil, err
	}
	r, err := a.send(ctx, ev, frame, payload)
	if err != nil {
		return nil, err
	}
	if err := a.m.resp.apply(r, td); err != nil {
		return nil, err
	}
	return r, nil
}

// send makes the signed service call; any status is an answer, transport failures are errors
// that name the endpoint.
func (a *awsService) send(ctx context.Context, ev *event.Event, frame, payload []byte) (*Response, error) {
	req, body, err := awsservice.NewRequest(ctx, a.target, a.ep, a.method, payload)
	if err != nil {
		return nil, err
	}
	if len(a.params) > 0 {
		var ctxVars map[string]string
		if a.params.needsContext() {
			ctxVars = ev.RequestContext.ContextVars()
		}
		q := req.URL.Query()
		for i := range a.params {
			p := &a.params[i]
			v, ok := p.resolve(ev, ctxVars, frame)
			if !ok {
				continue
			}
			if p.target == targetHeader {
				req.Header.Set(p.name, v)
			} else {
				q.Set(p.name, v)
			}
		}
		req.URL.RawQuery = q.Encode()
	}
	if err := a.aws.Sign(ctx, req, body, a.target.Service, a.region, a.ep, a.role); err != nil {
		return nil, fmt.Errorf("%s: %w", a.target, err)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		hint := ""
		if a.ep.Local {
			hint = " (is the emulator running?)"
		}
		return nil, fmt.Errorf("%s at %s (%s): %w%s", a.target, a.ep.URL.Redacted(), a.ep.Source, err, hint)
	}
	defer resp.Body.Close()
	b, err := readBody(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", a.target, a.ep.URL.Redacted(), err)
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: b}, nil
}
