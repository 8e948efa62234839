package centrifugo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// API builds Centrifugo server API calls as HTTP/1.1 request bytes, serialized once before a
// run: POST {Prefix}/publish, /broadcast and /batch with an X-API-Key header (the API key of
// http_api.key). Data must be valid JSON (with the JSON protocol a publication's data is
// JSON and reaches the client as is).
type API struct {
	Host   string // host:port for the Host header
	Prefix string // http_api.handler_prefix, "/api" by default
	Key    string // http_api.key
}

// Item is one publication of a batch.
type Item struct {
	Channel string
	Data    []byte
}

type publishReq struct {
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// Publish is POST /api/publish {"channel":C,"data":D}: D reaches every subscriber of C.
func (a API) Publish(channel string, data []byte) ([]byte, error) {
	return a.call("publish", publishReq{channel, data})
}

// Broadcast is POST /api/broadcast {"channels":[...],"data":D}: the same D to every channel.
func (a API) Broadcast(channels []string, data []byte) ([]byte, error) {
	return a.call("broadcast", struct {
		Channels []string        `json:"channels"`
		Data     json.RawMessage `json:"data"`
	}{channels, data})
}

// Batch is POST /api/batch {"commands":[{"publish":{...}},...]}: one request, many
// publications, answered with one reply per command in order. Parallel asks Centrifugo to
// run the commands concurrently.
func (a API) Batch(items []Item, parallel bool) ([]byte, error) {
	type cmd struct {
		Publish publishReq `json:"publish"`
	}
	cmds := make([]cmd, len(items))
	for i, it := range items {
		cmds[i] = cmd{publishReq{it.Channel, it.Data}}
	}
	return a.call("batch", struct {
		Commands []cmd `json:"commands"`
		Parallel bool  `json:"parallel,omitempty"`
	}{cmds, parallel})
}

func (a API) call(method string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("centrifugo %s: %w", method, err)
	}
	prefix := a.Prefix
	if prefix == "" {
		prefix = "/api"
	}
	var req bytes.Buffer
	req.WriteString("POST " + prefix + "/" + method + " HTTP/1.1\r\nHost: " + a.Host + "\r\n")
	if a.Key != "" {
		req.WriteString("X-API-Key: " + a.Key + "\r\n")
	}
	req.WriteString("Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(b)) + "\r\n\r\n")
	req.Write(b)
	return req.Bytes(), nil
}

// CheckAnswer reads a server API answer: an HTTP status other than 200 is an error; a 200
// carries {"result":{...}} or {"error":{"code":N,"message":...}} (publish, broadcast), or
// {"replies":[...]} with one reply per batch command, each possibly an error. It returns how
// many errors the body holds and the first one's text.
func CheckAnswer(status int, body []byte) (errs int, first string) {
	if status != 200 {
		return 1, fmt.Sprintf("HTTP %d: %.120s", status, body)
	}
	// Errors are the only objects with an "error" key in these answers (data is not echoed).
	n := bytes.Count(body, []byte(`"error":`))
	if n == 0 {
		return 0, ""
	}
	i := bytes.Index(body, []byte(`"error":`))
	return n, fmt.Sprintf("centrifugo: %.160s", body[i:])
}
