package redisbus

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/bus"
)

var codecCases = []bus.Message{
	{Kind: bus.Send, ConnID: "Zp3x-AbC=", Data: []byte(`{"hello":"world"}`)},
	{Kind: bus.Send, ConnID: "c", Data: []byte{0, 1, 2, 255}},
	{Kind: bus.Close, ConnID: "c", Code: 1008, Reason: "banned"},
	{Kind: bus.Close, ConnID: "c", Code: -1, Reason: ""},
	{Kind: bus.Broadcast, Data: bytes.Repeat([]byte("x"), 70000)},
	{Kind: bus.Broadcast},
	{Kind: bus.Joined, ConnID: "c", Group: "room-1"},
	{Kind: bus.Left, ConnID: "c", Group: "room-1"},
}

func equal(a, b bus.Message) bool {
	return a.Kind == b.Kind && a.ConnID == b.ConnID && a.Code == b.Code && a.Reason == b.Reason && a.Group == b.Group && bytes.Equal(a.Data, b.Data)
}

func TestCodecRoundTrip(t *testing.T) {
	for _, m := range codecCases {
		got, err := decodeMessage(appendMessage(nil, m))
		if err != nil || !equal(got, m) {
			t.Errorf("round trip of %+v = %+v, %v", m, got, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good := appendMessage(nil, bus.Message{Kind: bus.Close, ConnID: "conn", Reason: "why", Code: 1000})
	for name, b := range map[string][]byte{
		"empty":          nil,
		"one byte":       {codecVersion},
		"bad version":    append([]byte{9}, good[1:]...),
		"kind zero":      {codecVersion, 0, 0, 0, 0},
		"kind too big":   {codecVersion, byte(bus.Left) + 1, 0, 0, 0},
		"no code":        {codecVersion, 1},
		"huge code":      {codecVersion, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0},
		"id too long":    {codecVersion, 1, 0, 5, 'a'},
		"reason missing": good[:len(good)-4],
	} {
		if m, err := decodeMessage(b); err == nil {
			t.Errorf("%s: decoded %+v, want an error", name, m)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range codecCases {
		f.Add(appendMessage(nil, m))
	}
	f.Add([]byte{codecVersion, 1, 0, 5, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		again, err := decodeMessage(appendMessage(nil, m))
		if err != nil || !equal(again, m) {
			t.Fatalf("re-encoding %+v: %+v, %v", m, again, err)
		}
	})
}

// BenchmarkCodec is what chose the binary encoding over JSON (see codec.go): encode and decode
// of a typical 1 KB Send.
func BenchmarkCodec(b *testing.B) {
	m := bus.Message{Kind: bus.Send, ConnID: "Zp3xAbCdEfGhIjK=", Data: bytes.Repeat([]byte(`{"a":1}`), 146)}
	report := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	}
	b.Run("binary", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 2048)
		start := time.Now()
		for range b.N {
			buf = appendMessage(buf[:0], m)
			if _, err := decodeMessage(buf); err != nil {
				b.Fatal(err)
			}
		}
		report(b, start)
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for range b.N {
			buf, err := json.Marshal(m)
			if err != nil {
				b.Fatal(err)
			}
			var out bus.Message
			if err := json.Unmarshal(buf, &out); err != nil {
				b.Fatal(err)
			}
		}
		report(b, start)
	})
}
