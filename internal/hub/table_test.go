package hub

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/registry"
)

type tconn struct{ id string }

func (c *tconn) ID() string            { return c.id }
func (c *tconn) Send([]byte) error     { return nil }
func (c *tconn) Close(CloseReason)     {}
func (c *tconn) Info() registry.Conn   { return registry.Conn{ID: c.id} }
func (c *tconn) LastActive() time.Time { return time.Time{} }

// The table against a map: random puts (new ids and replacements) and removes over a small
// pool of ids, so that runs collide, wrap around the end and are shifted back on removal,
// through growing and shrinking. After every step each id is found exactly where the model
// says and the count agrees.
func TestTableAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tb := newTable[*tconn]()
	model := map[string]*tconn{}
	check := func(step int) {
		t.Helper()
		if tb.n != len(model) {
			t.Fatalf("step %d: table holds %d, model %d", step, tb.n, len(model))
		}
		for i := range 300 {
			id := strconv.Itoa(i)
			got, ok := tb.get(id)
			if want, in := model[id]; ok != in || got != want {
				t.Fatalf("step %d: get(%s) = %p, %v; want %p, %v", step, id, got, ok, want, in)
			}
		}
		if all := tb.appendTo(nil); len(all) != len(model) {
			t.Fatalf("step %d: appendTo gave %d connections, want %d", step, len(all), len(model))
		}
	}
	for step := range 20000 {
		id := strconv.Itoa(rng.IntN(300))
		// Phases: mostly adds, then mostly removes (the table shrinks), then mixed.
		add := rng.IntN(10) < [...]int{8, 2, 5}[step/7000]
		if add {
			c := &tconn{id: id}
			tb.put(c)
			model[id] = c
		} else {
			got, ok := tb.remove(id)
			want, in := model[id]
			if ok != in || got != want {
				t.Fatalf("step %d: remove(%s) = %p, %v; want %p, %v", step, id, got, ok, want, in)
			}
			delete(model, id)
		}
		if step%97 == 0 || step > 19900 {
			check(step)
		}
	}
	for id := range model {
		tb.remove(id)
	}
	if tb.n != 0 || len(tb.slots) > minSlots {
		t.Fatalf("emptied table: %d connections in %d slots; want 0 in at most %d", tb.n, len(tb.slots), minSlots)
	}
}

// What the hub's index costs per connection: at 9,000 (140 a shard) and 19,000, the slots
// stay under 24 bytes per connection (a map[string]*Conn took ≈ 46).
func TestTableBytesPerConnection(t *testing.T) {
	for _, n := range []int{9000, 19000} {
		h := New[*tconn](Options{Node: "n1"})
		for i := range n {
			s := h.shard(strconv.Itoa(i))
			s.conns.put(&tconn{id: strconv.Itoa(i)})
		}
		slots := 0
		for i := range h.shards {
			slots += len(h.shards[i].conns.slots)
		}
		if per := float64(slots*8) / float64(n); per >= 24 {
			t.Fatalf("%d connections: %.1f bytes of slots each, want under 24", n, per)
		}
	}
}
