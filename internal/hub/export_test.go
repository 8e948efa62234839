package hub

// SetFanoutWorkers makes EachParallel use n goroutines whatever GOMAXPROCS is, so that a test
// runs the parallel fan-out path on a one-CPU machine too.
func SetFanoutWorkers[C Conn](h *Hub[C], n int) { h.workers = n }

// RemembersOwner reports whether h remembers the node of connection id (its owners cache).
func RemembersOwner[C Conn](h *Hub[C], id string) bool {
	if h.owners == nil {
		return false
	}
	_, ok := h.owners.get(id)
	return ok
}
