package integration

import (
	"context"
	"fmt"
	"net/http"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
)

// awsService is an AWS service integration (DynamoDB PutItem, Step Functions StartExecution...).
// wsgate does not call AWS services itself: the rendered request template is POSTed to an HTTP
// stand-in (standin:) that performs the action, with header X-Wsgate-Aws-Uri naming what the
// integration targeted on AWS. Integration responses are matched against the stand-in's status
// code.
type awsService struct {
	t *httpTarget
	m mapped
}

// AWSURIHeader carries an AWS integration's uri (the service action) to its stand-in.
const AWSURIHeader = "X-Wsgate-Aws-Uri"

func newAWSService(name string, cfg config.Integration, o Options) (*awsService, error) {
	if cfg.Standin == "" {
		return nil, fmt.Errorf("type AWS (service integration %q) cannot run here: wsgate does not call AWS services; set standin: to an HTTP URL that performs the action with the rendered request template", cfg.URI)
	}
	t, err := newHTTPTarget(cfg.Method, cfg.Standin, o.StageVariables, cfg.RequestParameters, o.HTTPClient)
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
	return &awsService{t: t, m: m}, nil
}

func (a *awsService) Invoke(ctx context.Context, ev *event.Event) (*Response, error) {
	return a.m.call(ctx, ev, a.t)
}
