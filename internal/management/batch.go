package management

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/wsgate/wsgate/internal/hub"
)

// Limits of POST /{stage}/@batch (PostBatch).
const (
	// MaxBatchEntries is how many entries one batch may hold.
	MaxBatchEntries = 1000
	// DefaultMaxBatchBody caps a batch request's body (Options.MaxBatchBody); more gives 413.
	DefaultMaxBatchBody = 1 << 20
	// maxBatchEntryID is the longest entry id, as SQS's batch entry ids.
	maxBatchEntryID = 80
)

// batchRequest is PostBatch's body. Its shape follows SQS SendMessageBatch (Entries, each with
// an Id unique in the request; the answer lists Successful and Failed entries by Id), in the
// lowerCamel JSON of wsgate's extensions.
type batchRequest struct {
	Entries []batchEntry `json:"entries"`
}

// batchEntry is one message to one target: exactly one of connectionId, userId and group.
// data is the message: a JSON string is sent as its text, any other JSON value (an object, an
// array, a number) as its JSON text as written.
type batchEntry struct {
	ID           string          `json:"id"`
	ConnectionID string          `json:"connectionId"`
	UserID       string          `json:"userId"`
	Group        string          `json:"group"`
	Data         json.RawMessage `json:"data"`
}

// batchResultJSON is PostBatch's answer: every entry is in exactly one of the two lists, in
// request order within each.
type batchResultJSON struct {
	Successful []batchSuccessJSON `json:"successful"`
	Failed     []batchFailureJSON `json:"failed"`
}

// batchSuccessJSON is an entry that was sent: delivered counts the connections it reached (1
// for a connection; a user's or group's connections; 0 for a group without members).
type batchSuccessJSON struct {
	ID        string `json:"id"`
	Delivered int    `json:"delivered"`
}

// batchFailureJSON is an entry that was not sent, with the exception name and message a single
// call for it would have got, and senderFault as SQS's BatchResultErrorEntry: true when the
// entry itself is at fault (a gone connection, a bad name, a message too large), false for a
// failure of the gateway's.
type batchFailureJSON struct {
	ID          string `json:"id"`
	Code        string `json:"code"`
	Message     string `json:"message"`
	SenderFault bool   `json:"senderFault"`
}

// parseBatch decodes and checks a batch as a whole. A batch that fails here is answered 400
// BadRequestException and none of it is sent, as SQS refuses an empty batch, too many entries,
// a bad entry id or ids that repeat (EmptyBatchRequest, TooManyEntriesInBatchRequest,
// InvalidBatchEntryId, BatchEntryIdsNotDistinct).
func parseBatch(body []byte) ([]batchEntry, *apiError) {
	var req batchRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, badRequest("the batch is not valid JSON of the form {\"entries\":[{\"id\":...,\"connectionId\"|\"userId\"|\"group\":...,\"data\":...}]}: %v", err)
	}
	if dec.More() {
		return nil, badRequest("the batch has data after its JSON object")
	}
	switch n := len(req.Entries); {
	case n == 0:
		return nil, badRequest("the batch has no entries")
	case n > MaxBatchEntries:
		return nil, badRequest("the batch has %d entries; at most %d are allowed", n, MaxBatchEntries)
	}
	seen := make(map[string]struct{}, len(req.Entries))
	for i, e := range req.Entries {
		if ae := checkEntryID(e.ID); ae != nil {
			ae.Message = "entries[" + strconv.Itoa(i) + "]: " + ae.Message
			return nil, ae
		}
		if _, dup := seen[e.ID]; dup {
			return nil, badRequest("entries[%d]: id %q is used by an earlier entry; ids must be distinct", i, e.ID)
		}
		seen[e.ID] = struct{}{}
	}
	return req.Entries, nil
}

// checkEntryID applies SQS's rule for batch entry ids: 1 to 80 characters, alphanumeric,
// hyphens and underscores.
func checkEntryID(id string) *apiError {
	if id == "" || len(id) > maxBatchEntryID {
		return badRequest("id must be 1 to %d characters long, got %d", maxBatchEntryID, len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return badRequest("id %q: character %d (%q) is not allowed; use letters, digits, '-' and '_'", id, i+1, c)
		}
	}
	return nil
}

// message is the bytes an entry sends (see batchEntry), or why it cannot be sent.
func (e *batchEntry) message(maxBody int64) ([]byte, *apiError) {
	d := bytes.TrimSpace(e.Data)
	if len(d) == 0 || string(d) == "null" {
		return nil, badRequest("data is missing")
	}
	if d[0] == '"' {
		var s string
		if err := json.Unmarshal(d, &s); err != nil {
			return nil, badRequest("data: %v", err)
		}
		d = []byte(s)
	}
	if int64(len(d)) > maxBody {
		return nil, tooLarge(maxBody)
	}
	return d, nil
}

// sendEntry sends one entry through the Backend and returns how many connections it reached.
func (h *Handler) sendEntry(ctx context.Context, e *batchEntry) (int, error) {
	targets := 0
	for _, s := range [...]string{e.ConnectionID, e.UserID, e.Group} {
		if s != "" {
			targets++
		}
	}
	if targets != 1 {
		return 0, badRequest("an entry names exactly one of connectionId, userId and group; this one names %d", targets)
	}
	data, ae := e.message(h.o.MaxBody)
	if ae != nil {
		return 0, ae
	}
	b := h.o.Backend
	switch {
	case e.ConnectionID != "":
		if err := b.PostToConnection(ctx, e.ConnectionID, data); err != nil {
			return 0, err
		}
		return 1, nil
	case e.UserID != "":
		if ae := checkName("user id", e.UserID); ae != nil {
			return 0, ae
		}
		n, err := b.PostToUser(ctx, e.UserID, data)
		if err == nil && n == 0 {
			err = hub.ErrGone
		}
		return n, err
	}
	if ae := checkName("group", e.Group); ae != nil {
		return 0, ae
	}
	return b.PostToGroup(ctx, e.Group, data)
}

// postBatch sends every entry in order, each on its own: one that fails is listed in failed
// with its reason and does not stop the others.
func (h *Handler) postBatch(ctx context.Context, w http.ResponseWriter, body []byte) (int, error) {
	entries, ae := parseBatch(body)
	if ae != nil {
		return 0, ae
	}
	res := batchResultJSON{Successful: []batchSuccessJSON{}, Failed: []batchFailureJSON{}}
	for i := range entries {
		e := &entries[i]
		n, err := h.sendEntry(ctx, e)
		if err == nil {
			res.Successful = append(res.Successful, batchSuccessJSON{ID: e.ID, Delivered: n})
			continue
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = backendError(err, entryTarget(e))
		}
		res.Failed = append(res.Failed, batchFailureJSON{ID: e.ID, Code: ae.Type, Message: ae.Message, SenderFault: ae.Status < 500})
	}
	return writeJSON(w, http.StatusOK, res)
}

// entryTarget names an entry's target in error messages, as what does for single calls.
func entryTarget(e *batchEntry) string {
	switch {
	case e.UserID != "":
		return "user " + strconv.Quote(e.UserID)
	case e.Group != "":
		return "group " + strconv.Quote(e.Group)
	}
	return "connection " + strconv.Quote(e.ConnectionID)
}
