package management

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/hub"
)

// TestPostBatch checks PostBatch's answer byte for byte: entries to connections, users and
// groups, each with its own result; bad entries and failing deliveries are listed in failed
// with the exception a single call would get and do not stop the others; messages over the
// message limit fail their entry only. (End to end, over the memory and Redis stores and
// across nodes: the "batch" case of harness.RunDeliveryContract.)
func TestPostBatch(t *testing.T) {
	b := extBackend()
	b.groups["room"] = []string{idA1, idB}
	b.fail[idN] = hub.ErrSlowConsumer
	srv := httptest.NewServer(New(Options{Stage: "dev", Backend: b, MaxBody: 16}))
	t.Cleanup(srv.Close)
	post := func(body string) (int, string, http.Header) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/dev/@batch", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out), resp.Header
	}
	st, body, _ := post(`{"entries":[
		{"id":"c","connectionId":"` + idA2 + `","data":"plain text"},
		{"id":"obj","connectionId":"` + idA2 + `","data":{"a":[1,2]}},
		{"id":"u","userId":"ann","data":"to ann"},
		{"id":"g","group":"room","data":"to room"},
		{"id":"empty-group","group":"nobody-here","data":"x"},
		{"id":"gone","connectionId":"ZZZZZZZZZZZZZZZ=","data":"x"},
		{"id":"slow","connectionId":"` + idN + `","data":"x"},
		{"id":"offline","userId":"carol","data":"x"},
		{"id":"big","connectionId":"` + idA2 + `","data":"seventeen bytes!!"},
		{"id":"no-data","connectionId":"` + idA2 + `"},
		{"id":"none","data":"x"},
		{"id":"bad-group","group":"a b","data":"x"}]}`)
	want := `{"successful":[{"id":"c","delivered":1},{"id":"obj","delivered":1},{"id":"u","delivered":2},` +
		`{"id":"g","delivered":2},{"id":"empty-group","delivered":0}],"failed":[` +
		`{"id":"gone","code":"GoneException","message":"connection \"ZZZZZZZZZZZZZZZ=\" is gone","senderFault":true},` +
		`{"id":"slow","code":"LimitExceededException","message":"The send buffer of connection \"DDDDDDDDDDDDDDD=\" is full; retry later","senderFault":true},` +
		`{"id":"offline","code":"GoneException","message":"user \"carol\" is gone","senderFault":true},` +
		`{"id":"big","code":"PayloadTooLargeException","message":"Request payload is larger than the 16-byte limit","senderFault":true},` +
		`{"id":"no-data","code":"BadRequestException","message":"data is missing","senderFault":true},` +
		`{"id":"none","code":"BadRequestException","message":"an entry names exactly one of connectionId, userId and group; this one names 0","senderFault":true},` +
		`{"id":"bad-group","code":"BadRequestException","message":"group \"a b\": character 2 (' ') is not allowed; use printable ASCII without spaces","senderFault":true}]}`
	if st != 200 || body != want {
		t.Fatalf("POST @batch = %d\n%s\nwant\n%s", st, body, want)
	}
	got := b.messages(idA2)
	if len(got) < 2 || string(got[0]) != "plain text" || string(got[1]) != `{"a":[1,2]}` {
		t.Errorf("connection %s got %q, want the text, then the object's JSON as written", idA2, got)
	}
}

// TestPostBatchRefused checks the batch-wide checks: each is a 400 (413 for the body) naming
// what to fix, and nothing of such a batch is sent.
func TestPostBatchRefused(t *testing.T) {
	b := extBackend()
	srv := httptest.NewServer(New(Options{Stage: "dev", Backend: b, MaxBatchBody: 64 << 10}))
	t.Cleanup(srv.Close)
	entry := func(id string) string {
		return `{"id":"` + id + `","connectionId":"` + idA1 + `","data":"x"}`
	}
	var many []string
	for i := range MaxBatchEntries + 1 {
		many = append(many, entry(fmt.Sprint("e", i)))
	}
	for _, c := range []struct {
		name, body string
		status     int
		typ, msg   string
	}{
		{"not JSON", `entries`, 400, typeBadRequest, "not valid JSON"},
		{"unknown field", `{"entries":[` + entry("a") + `],"queueUrl":"x"}`, 400, typeBadRequest, `unknown field "queueUrl"`},
		{"trailing data", `{"entries":[` + entry("a") + `]} {}`, 400, typeBadRequest, "data after its JSON object"},
		{"empty", `{"entries":[]}`, 400, typeBadRequest, "no entries"},
		{"too many entries", `{"entries":[` + strings.Join(many, ",") + `]}`, 400, typeBadRequest, "1001 entries; at most 1000"},
		{"repeated id", `{"entries":[` + entry("a") + `,` + entry("a") + `]}`, 400, typeBadRequest, `entries[1]: id "a" is used by an earlier entry`},
		{"bad id", `{"entries":[` + entry("a.b") + `]}`, 400, typeBadRequest, `entries[0]: id "a.b": character 2`},
		{"body over the limit", `{"entries":[` + entry(strings.Repeat("x", 70<<10)) + `]}`, 413, typePayloadTooLarge, "65536-byte limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/dev/@batch", "application/json", strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e errorJSON
			_ = json.Unmarshal(body, &e)
			if resp.StatusCode != c.status || resp.Header.Get("X-Amzn-ErrorType") != c.typ || !strings.Contains(e.Message, c.msg) {
				t.Errorf("= %d %s %s, want %d %s with %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, c.status, c.typ, c.msg)
			}
		})
	}
	if got := b.messages(idA1); len(got) != 0 {
		t.Errorf("a refused batch sent %q", got)
	}
}

// FuzzParseBatch: parseBatch never panics; a batch it accepts has 1 to MaxBatchEntries entries
// with valid, distinct ids, and an entry's message is within the limit or refused with a reason.
func FuzzParseBatch(f *testing.F) {
	f.Add([]byte(`{"entries":[{"id":"a","connectionId":"x=","data":"hi"},{"id":"b","userId":"u","data":{"k":[1]}}]}`))
	f.Add([]byte(`{"entries":[{"id":"a","group":"g","data":"\u00e9\n"}]}`))
	f.Add([]byte(`{"entries":[{"id":"a","data":null},{"id":"a"}]}`))
	f.Add([]byte(`{"entries":[]} x`))
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, ae := parseBatch(body)
		if ae != nil {
			if ae.Status != http.StatusBadRequest || ae.Message == "" {
				t.Fatalf("refusal %+v", ae)
			}
			return
		}
		if len(entries) == 0 || len(entries) > MaxBatchEntries {
			t.Fatalf("accepted %d entries", len(entries))
		}
		seen := map[string]bool{}
		for _, e := range entries {
			if checkEntryID(e.ID) != nil || seen[e.ID] {
				t.Fatalf("accepted id %q", e.ID)
			}
			seen[e.ID] = true
			if d, ae := e.message(DefaultMaxBody); ae != nil && ae.Message == "" || ae == nil && len(d) > DefaultMaxBody {
				t.Fatalf("entry %q: message %q, %v", e.ID, d, ae)
			}
		}
	})
}
