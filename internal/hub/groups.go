package hub

// LocalGroups maps each group that this node's connections are in to how many of them are in
// it (the live page's group list; the store has the members on every node). It copies under
// groupsMu and costs one pass over the connections that joined any group.
func (h *Hub[C]) LocalGroups() map[string]int {
	h.groupsMu.Lock()
	defer h.groupsMu.Unlock()
	out := make(map[string]int)
	for _, gs := range h.groups {
		for _, g := range gs {
			out[g]++
		}
	}
	return out
}
