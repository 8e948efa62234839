package centrifugo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestConnectCommand(t *testing.T) {
	if got := string(ConnectCommand(nil, 1, "")); got != `{"id":1,"connect":{}}` {
		t.Fatal(got)
	}
	got := ConnectCommand([]byte("x"), 42, "a.b.c")
	if string(got) != `x{"id":42,"connect":{"token":"a.b.c"}}` {
		t.Fatal(string(got))
	}
	var v struct {
		ID      uint32                 `json:"id"`
		Connect struct{ Token string } `json:"connect"`
	}
	if err := json.Unmarshal(got[1:], &v); err != nil || v.ID != 42 || v.Connect.Token != "a.b.c" {
		t.Fatalf("%+v %v", v, err)
	}
}

// Replies in the shapes of Centrifugo's JSON protocol (client.proto's Reply, Push,
// ConnectResult, Publication, Error), several per message separated by newlines.
func TestDecodeShapes(t *testing.T) {
	cases := []struct {
		msg  string
		want []Reply
	}{
		{`{}`, []Reply{{Kind: Ping}}},
		{`{"id":1,"connect":{"client":"6f1c","version":"6.9.1","expires":true,"ttl":3600,"subs":{"c7":{}},"ping":25,"pong":true}}`,
			[]Reply{{Kind: Connected, ID: 1, Client: "6f1c", Subs: []string{"c7"}, PingSecs: 25, Pong: true}}},
		{`{"id":1,"connect":{"client":"e2","version":"6.9.1","ping":25,"pong":true}}`,
			[]Reply{{Kind: Connected, ID: 1, Client: "e2", PingSecs: 25, Pong: true}}},
		{`{"id":3,"error":{"code":103,"message":"permission denied"}}`, []Reply{{Kind: Error, ID: 3, Code: 103, Message: "permission denied"}}},
		{`{"push":{"channel":"c7","pub":{"data":{"push":"x"}}}}`, []Reply{{Kind: Publication, Channel: "c7", Data: []byte(`{"push":"x"}`)}}},
		// With history on, a publication carries an offset after its data: decoded the slow way.
		{`{"push":{"channel":"c7","pub":{"data":{"a":"}}}"},"offset":12}}}`, []Reply{{Kind: Publication, Channel: "c7", Data: []byte(`{"a":"}}}"}`)}}},
		{`{"push":{"channel":"all","pub":{"data":[1,2]}}}` + "\n" + `{"push":{"channel":"c\"q","pub":{"data":"y"}}}` + "\n{}",
			[]Reply{{Kind: Publication, Channel: "all", Data: []byte(`[1,2]`)}, {Kind: Publication, Channel: `c"q`, Data: []byte(`"y"`)}, {Kind: Ping}}},
		{`{"push":{"disconnect":{"code":3501,"reason":"bad request"}}}`, []Reply{{Kind: Disconnect, Code: 3501, Message: "bad request"}}},
		{`{"push":{"channel":"c7","join":{"info":{"user":"u"}}}}`, []Reply{{Kind: Other}}},
		{"\n\n", nil},
	}
	for _, c := range cases {
		var got []Reply
		if err := Decode([]byte(c.msg), func(r Reply) { got = append(got, r) }); err != nil {
			t.Fatalf("%s: %v", c.msg, err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("%s: %d replies, want %d: %+v", c.msg, len(got), len(c.want), got)
		}
		for i := range got {
			g, w := got[i], c.want[i]
			if g.Kind != w.Kind || g.ID != w.ID || g.Channel != w.Channel || !bytes.Equal(g.Data, w.Data) || g.Client != w.Client ||
				!slices.Equal(g.Subs, w.Subs) || g.PingSecs != w.PingSecs || g.Pong != w.Pong || g.Code != w.Code || g.Message != w.Message {
				t.Errorf("%s\n reply %d: got %+v (%s)\n want %+v", c.msg, i, g, g.Data, w)
			}
		}
	}
	if err := Decode([]byte(`{"push":`), func(Reply) {}); err == nil || !strings.Contains(err.Error(), "centrifugo reply") {
		t.Fatalf("a truncated reply: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"push":{"channel":"c","pub":{"data":{"x":1}}}}`))
	f.Add([]byte("{}\n{\"id\":1,\"connect\":{\"client\":\"a\",\"subs\":{\"c\":{}}}}"))
	f.Add([]byte(`{"push":{"channel":"c","pub":{"data":}}}`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		_ = Decode(msg, func(r Reply) {
			if r.Kind == Publication && !json.Valid(r.Data) {
				t.Fatalf("publication data %q is not JSON", r.Data)
			}
		})
	})
}

func TestAPIRequests(t *testing.T) {
	api := API{Host: "127.0.0.1:18000", Key: "k"}
	read := func(b []byte, err error) (string, map[string]any) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		if req.Method != "POST" || req.Host != "127.0.0.1:18000" || req.Header.Get("X-API-Key") != "k" || req.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%q", b)
		}
		body, _ := io.ReadAll(req.Body)
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return req.URL.Path, v
	}
	path, v := read(api.Publish("c1", []byte(`{"push":"x"}`)))
	if path != "/api/publish" || v["channel"] != "c1" || v["data"].(map[string]any)["push"] != "x" {
		t.Fatalf("%s %v", path, v)
	}
	path, v = read(api.Broadcast([]string{"a", "b"}, []byte(`1`)))
	if path != "/api/broadcast" || len(v["channels"].([]any)) != 2 || v["data"] != 1.0 {
		t.Fatalf("%s %v", path, v)
	}
	path, v = read(api.Batch([]Item{{"a", []byte(`"x"`)}, {"b", []byte(`[2]`)}}, true))
	cmds := v["commands"].([]any)
	if path != "/api/batch" || len(cmds) != 2 || v["parallel"] != true ||
		cmds[1].(map[string]any)["publish"].(map[string]any)["channel"] != "b" {
		t.Fatalf("%s %v", path, v)
	}
	if _, err := api.Publish("c", []byte(`not json`)); err == nil {
		t.Fatal("invalid data accepted")
	}
	api.Prefix = "/capi"
	if path, _ = read(api.Publish("c", []byte(`1`))); path != "/capi/publish" {
		t.Fatal(path)
	}
}

func TestCheckAnswer(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		errs   int
		first  string
	}{
		{200, `{"result":{}}`, 0, ""},
		{200, `{"replies":[{"publish":{}},{"publish":{}}]}`, 0, ""},
		{200, `{"error":{"code":102,"message":"unknown channel"}}`, 1, `"error":{"code":102`},
		{200, `{"replies":[{"publish":{}},{"error":{"code":107,"message":"bad request"}},{"error":{"code":107}}]}`, 2, `"error":{"code":107`},
		{401, `Unauthorized`, 1, "HTTP 401: Unauthorized"},
	} {
		n, first := CheckAnswer(c.status, []byte(c.body))
		if n != c.errs || !strings.Contains(first, c.first) {
			t.Errorf("%d %s: %d %q", c.status, c.body, n, first)
		}
	}
}

func TestToken(t *testing.T) {
	s, err := Token([]byte("sec"), "u1", []string{"c1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(s, claims, func(*jwt.Token) (any, error) { return []byte("sec"), nil }, jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != "u1" || claims["channels"].([]any)[0] != "c1" || claims["exp"].(float64) < float64(time.Now().Unix()+3500) {
		t.Fatalf("%v", claims)
	}
	s, _ = Token([]byte("sec"), "u2", nil, time.Hour)
	claims = jwt.MapClaims{}
	_, _ = jwt.ParseWithClaims(s, claims, func(*jwt.Token) (any, error) { return []byte("sec"), nil })
	if _, ok := claims["channels"]; ok {
		t.Fatalf("no channels given, yet %v", claims)
	}
}
