package integration

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/lambda"
)

// awsProxy is AWS_PROXY: the event, as JSON, goes to a Lambda function through the Lambda Invoke
// API, or to a function wsgate runs itself (Options.Function); its result is read the way API Gateway reads a proxy result (see parseProxyResult).
type awsProxy struct {
	inv lambda.Function
}

func newAWSProxy(name string, cfg config.Integration, o Options) (*awsProxy, error) {
	if cfg.URI == "" {
		return nil, fmt.Errorf("uri is missing: set uri: to the Lambda function name or ARN")
	}
	if len(cfg.RequestTemplates) > 0 || len(cfg.Responses) > 0 || len(cfg.RequestParameters) > 0 {
		return nil, fmt.Errorf("AWS_PROXY takes no requestTemplates, requestParameters or responses (the function receives the whole event)")
	}
	region := cfg.Region
	if region == "" {
		region = o.Region
	}
	if cfg.Endpoint == "" && o.Function != nil {
		if fn := o.Function(cfg.URI); fn != nil {
			return &awsProxy{inv: fn}, nil
		}
	}
	return &awsProxy{inv: lambda.New(cfg.URI, cfg.Endpoint, region, o.HTTPClient)}, nil
}

func (a *awsProxy) Invoke(ctx context.Context, ev *event.Event) (*Response, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	out, err := a.inv.Invoke(ctx, payload)
	if err != nil {
		return nil, err
	}
	r, err := parseProxyResult(out)
	if err != nil {
		return nil, fmt.Errorf("lambda %q: %w", a.inv.Function(), err)
	}
	return r, nil
}
