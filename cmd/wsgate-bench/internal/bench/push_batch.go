package bench

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/wsclient"
)

// batchRequests builds push's requests for --batch N > 1 against wsgate: each a signed POST
// /@batch (docs/management-api.md) of N entries to consecutive connections, each entry's data
// the same message as a single push sends.
func batchRequests(r *run, signer *Signer, conns []*wsclient.Conn, data []byte, n int) ([]Request, error) {
	var ids []string
	for _, c := range conns {
		if c != nil && c.ID.Load() != nil {
			ids = append(ids, *c.ID.Load())
		}
	}
	type entry struct {
		ID           string          `json:"id"`
		ConnectionID string          `json:"connectionId"`
		Data         json.RawMessage `json:"data"`
	}
	var reqs []Request
	t0 := time.Now()
	for start := 0; start < len(ids); start += n {
		entries := make([]entry, n)
		for k := range entries {
			entries[k] = entry{ID: strconv.Itoa(k), ConnectionID: ids[(start+k)%len(ids)], Data: data}
		}
		body, err := json.Marshal(map[string]any{"entries": entries})
		if err != nil {
			return nil, err
		}
		req, err := signer.Build(r.ctx, r.t.Mgmt+"/@batch", body)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, req)
	}
	fmt.Fprintf(r.o.Stderr, "wsgate-bench: %d POST @batch requests of %d entries signed in %s (before the run)\n",
		len(reqs), n, time.Since(t0).Round(time.Millisecond))
	return reqs, nil
}

// checkBatch counts the errors of a POST @batch answer: a non-2xx answer fails all of it,
// otherwise each entry in "failed" is one error.
func checkBatch(n int) func(status int, body []byte) (int, string) {
	return func(status int, body []byte) (int, string) {
		if status/100 != 2 {
			return n, fmt.Sprintf("HTTP %d: %.120s", status, body)
		}
		var out struct {
			Failed []struct{ ID, Code, Message string }
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return n, fmt.Sprintf("POST @batch answer %.120q: %v", body, err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return len(out.Failed), fmt.Sprintf("batch entry %s: %s: %s", f.ID, f.Code, f.Message)
		}
		return 0, ""
	}
}
