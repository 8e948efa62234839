package hub

import "hash/maphash"

// table is one shard's local connections: an open-addressing hash table (linear probing,
// backward-shift deletion) of the connections themselves, found by their ID. A connection
// costs one slot the size of a C (8 bytes for the gateway's *Conn) at a load of 3/8 to 3/4,
// ≈ 11–21 bytes, where a map[string]C entry costs its 16-byte key beside the value and the
// map's own overhead (46 bytes per idle connection measured at 9,000). The table shrinks when
// it is mostly empty. Not safe for concurrent use: the shard's mutex guards it.
type table[C Conn] struct {
	seed  maphash.Seed
	slots []C // len 0 or a power of two; the zero C marks a free slot
	n     int
}

// minSlots is the size of a table's first allocation.
const minSlots = 8

func newTable[C Conn]() table[C] { return table[C]{seed: maphash.MakeSeed()} }

func (t *table[C]) home(id string) int {
	return int(maphash.String(t.seed, id) & uint64(len(t.slots)-1))
}

// find returns the slot holding id, or -1.
func (t *table[C]) find(id string) int {
	var zero C
	if t.n == 0 {
		return -1
	}
	mask := len(t.slots) - 1
	for i := t.home(id); ; i = (i + 1) & mask {
		switch c := t.slots[i]; {
		case c == zero:
			return -1
		case c.ID() == id:
			return i
		}
	}
}

// get returns the connection with that id.
func (t *table[C]) get(id string) (C, bool) {
	if i := t.find(id); i >= 0 {
		return t.slots[i], true
	}
	var zero C
	return zero, false
}

// put adds c, replacing a connection with the same id.
func (t *table[C]) put(c C) {
	var zero C
	if (t.n+1)*4 > len(t.slots)*3 {
		t.resize(max(minSlots, 2*len(t.slots)))
	}
	id := c.ID()
	mask := len(t.slots) - 1
	for i := t.home(id); ; i = (i + 1) & mask {
		switch s := t.slots[i]; {
		case s == zero:
			t.slots[i] = c
			t.n++
			return
		case s.ID() == id:
			t.slots[i] = c
			return
		}
	}
}

// remove takes the connection with that id out.
func (t *table[C]) remove(id string) (C, bool) {
	var zero C
	i := t.find(id)
	if i < 0 {
		return zero, false
	}
	c := t.slots[i]
	// Backward shift: move each later entry of the run into the hole unless its home lies
	// cyclically in (hole, entry], so that every entry stays reachable from its home.
	mask := len(t.slots) - 1
	for j := (i + 1) & mask; t.slots[j] != zero; j = (j + 1) & mask {
		k := t.home(t.slots[j].ID())
		if i < j && (k <= i || k > j) || i > j && k <= i && k > j {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = zero
	t.n--
	if len(t.slots) > minSlots && t.n*8 < len(t.slots) {
		t.resize(len(t.slots) / 2)
	}
	return c, true
}

// resize moves every connection into a table of size slots.
func (t *table[C]) resize(size int) {
	var zero C
	old := t.slots
	t.slots, t.n = make([]C, size), 0
	for _, c := range old {
		if c != zero {
			t.put(c)
		}
	}
}

// appendTo appends every connection to batch.
func (t *table[C]) appendTo(batch []C) []C {
	var zero C
	for _, c := range t.slots {
		if c != zero {
			batch = append(batch, c)
		}
	}
	return batch
}
