// Package centrifugo is what wsgate-bench needs to put the same load on a Centrifugo server
// (v6) as on wsgate: the client side of its JSON protocol over WebSocket (the connect command
// with a JWT connect token whose "channels" claim makes server-side subscriptions, pings, pushed
// publications), the HS256 connect tokens themselves, the server HTTP API calls the push and
// broadcast scenarios send (/api/publish, /api/broadcast, /api/batch with X-API-Key), and the
// few keys of a Centrifugo config file the generator reads (port, API key, HMAC secret).
//
// The shapes follow Centrifugo's public protocol definition (github.com/centrifugal/protocol,
// client.proto: Command, Reply, Push, Publication, ConnectResult) and its server API
// (internal/apiproto: PublishRequest, BroadcastRequest, BatchRequest). With the JSON protocol a
// WebSocket text message carries one or more replies separated by '\n'; a ping is the empty
// reply {} and the client answers it with the empty command {}.
package centrifugo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// ConnectCommand appends the connect command with the given id to dst: {"id":1,"connect":{}}
// without a token (anonymous, for a server with allow_anonymous_connect_without_token), else
// with "token". The token is a JWT (only base64url characters and dots), so it needs no escaping.
func ConnectCommand(dst []byte, id uint32, token string) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendUint(dst, uint64(id), 10)
	dst = append(dst, `,"connect":{`...)
	if token != "" {
		dst = append(dst, `"token":"`...)
		dst = append(dst, token...)
		dst = append(dst, '"')
	}
	return append(dst, `}}`...)
}

// Pong is the client's answer to a server ping (the empty command).
var Pong = []byte(`{}`)

// Kind is what one reply of a message is.
type Kind int

// Reply kinds.
const (
	Ping        Kind = iota // {}: answer with Pong
	Publication             // {"push":{"channel":...,"pub":{"data":...}}}
	Connected               // the connect command's result
	Error                   // a command's error reply
	Disconnect              // {"push":{"disconnect":{"code":...,"reason":...}}}
	Other                   // any other reply or push (join, leave, message, ...)
)

func (k Kind) String() string {
	switch k {
	case Ping:
		return "ping"
	case Publication:
		return "publication"
	case Connected:
		return "connected"
	case Error:
		return "error"
	case Disconnect:
		return "disconnect"
	}
	return "other"
}

// Reply is one decoded reply. Fields are set by kind: Channel and Data for a Publication;
// Client, Subs, PingSecs and Pong for Connected; ID, Code and Message for Error; Code and
// Message for Disconnect.
type Reply struct {
	Kind     Kind
	ID       uint32
	Channel  string
	Data     []byte // the publication's data (raw JSON); points into the message
	Client   string
	Subs     []string
	PingSecs uint32
	Pong     bool
	Code     uint32
	Message  string
}

// wire is the JSON shape of a reply (protocol.Reply), decoded with encoding/json off the
// publication path.
type wire struct {
	ID    uint32 `json:"id"`
	Error *struct {
		Code    uint32 `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Push *struct {
		Channel    string                          `json:"channel"`
		Pub        *struct{ Data json.RawMessage } `json:"pub"`
		Disconnect *struct {
			Code   uint32 `json:"code"`
			Reason string `json:"reason"`
		} `json:"disconnect"`
	} `json:"push"`
	Connect *struct {
		Client string                     `json:"client"`
		Subs   map[string]json.RawMessage `json:"subs"`
		Ping   uint32                     `json:"ping"`
		Pong   bool                       `json:"pong"`
	} `json:"connect"`
}

var (
	pushPrefix = []byte(`{"push":{"channel":"`)
	pubKey     = []byte(`","pub":{"data":`)
)

// Decode calls fn for each reply in one WebSocket message (replies separated by '\n'). A
// publication pushed as Centrifugo encodes it ({"push":{"channel":"C","pub":{"data":D...}}})
// is recognised without a JSON decoder, so counting deliveries costs the generator little;
// every other reply is decoded with encoding/json. An error names the reply it could not read.
func Decode(msg []byte, fn func(Reply)) error {
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		r, err := decodeOne(line)
		if err != nil {
			return err
		}
		fn(r)
	}
	return nil
}

func decodeOne(line []byte) (Reply, error) {
	if len(line) == 2 && line[0] == '{' && line[1] == '}' {
		return Reply{Kind: Ping}, nil
	}
	if r, ok := fastPublication(line); ok {
		return r, nil
	}
	var w wire
	if err := json.Unmarshal(line, &w); err != nil {
		return Reply{}, fmt.Errorf("centrifugo reply %.120q: %w", line, err)
	}
	switch {
	case w.Error != nil:
		return Reply{Kind: Error, ID: w.ID, Code: w.Error.Code, Message: w.Error.Message}, nil
	case w.Connect != nil:
		r := Reply{Kind: Connected, ID: w.ID, Client: w.Connect.Client, PingSecs: w.Connect.Ping, Pong: w.Connect.Pong}
		for ch := range w.Connect.Subs {
			r.Subs = append(r.Subs, ch)
		}
		return r, nil
	case w.Push != nil && w.Push.Pub != nil:
		return Reply{Kind: Publication, Channel: w.Push.Channel, Data: w.Push.Pub.Data}, nil
	case w.Push != nil && w.Push.Disconnect != nil:
		return Reply{Kind: Disconnect, Code: w.Push.Disconnect.Code, Message: w.Push.Disconnect.Reason}, nil
	}
	return Reply{Kind: Other, ID: w.ID}, nil
}

// fastPublication reads {"push":{"channel":"C","pub":{"data":D}}} where C has no escapes and
// D is the publication's only field (how Centrifugo encodes a publication without history,
// offset, tags or info). Anything else is left to the JSON decoder.
func fastPublication(line []byte) (Reply, bool) {
	rest, ok := bytes.CutPrefix(line, pushPrefix)
	if !ok {
		return Reply{}, false
	}
	i := bytes.IndexByte(rest, '"')
	if i < 0 || bytes.IndexByte(rest[:i], '\\') >= 0 {
		return Reply{}, false
	}
	ch := rest[:i]
	data, ok := bytes.CutPrefix(rest[i:], pubKey)
	if !ok || !bytes.HasSuffix(data, []byte("}}}")) {
		return Reply{}, false
	}
	data = data[:len(data)-3]
	if !json.Valid(data) {
		return Reply{}, false
	}
	return Reply{Kind: Publication, Channel: string(ch), Data: data}, true
}
