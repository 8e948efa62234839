package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
)

// mock is MOCK: answered in-process. The selected request template must render a JSON object
// whose statusCode (a number or numeric string; missing -> 200) is the mock status, as API
// Gateway's convention {"statusCode": 200}. The rendered text is also the mock "backend body"
// that integration response templates read as $input.body, so a request template can pass
// values through (e.g. {"statusCode": 200, "id": "$input.path('$.id')"}).
//
// Without a matching request template (and passthrough allowed) the status is 200 and the
// backend body is the client's frame, so a MOCK without templates on a two-way route echoes:
// wsgate's choice [unverified against AWS].
type mock struct {
	m mapped
}

func newMock(name string, cfg config.Integration, o Options) (*mock, error) {
	if cfg.URI != "" || len(cfg.RequestParameters) > 0 {
		return nil, fmt.Errorf("MOCK calls no backend: remove uri and requestParameters")
	}
	m, err := newMapped(cfg, o)
	if err != nil {
		return nil, err
	}
	return &mock{m: m}, nil
}

func (k *mock) Invoke(ctx context.Context, ev *event.Event) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	frame, err := frameBody(ev)
	if err != nil {
		return nil, err
	}
	td := newTemplateData(ev, frame, k.m.stageVars)
	out, passed, err := k.m.req.render(td)
	if err != nil {
		return nil, err
	}
	r := &Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: out}
	if !passed {
		if r.StatusCode, err = mockStatus(out); err != nil {
			return nil, err
		}
	}
	if err := k.m.resp.apply(r, td); err != nil {
		return nil, err
	}
	return r, nil
}

// mockStatus reads statusCode from a rendered MOCK request template.
func mockStatus(out []byte) (int, error) {
	var v struct {
		StatusCode json.RawMessage `json:"statusCode"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return 0, fmt.Errorf("MOCK request template must render a JSON object such as {\"statusCode\": 200}, got %s", short(out))
	}
	code, ok, err := lenientInt(v.StatusCode)
	if err != nil {
		return 0, fmt.Errorf("MOCK request template: statusCode: %w", err)
	}
	if !ok {
		return http.StatusOK, nil
	}
	if code < 100 || code > 599 {
		return 0, fmt.Errorf("MOCK request template: statusCode %d is not an HTTP status (100..599)", code)
	}
	return code, nil
}
