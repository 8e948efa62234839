package registry

// UserEntries counts the users the memory store still holds (online or with a last-seen time).
func (s *Memory) UserEntries() int {
	n := 0
	for i := range s.users {
		s.users[i].mu.RLock()
		n += len(s.users[i].m)
		s.users[i].mu.RUnlock()
	}
	return n
}

// ConnEntries counts the entries of the memory store's connection shards and gone sets: what
// it keeps per connection beyond its user's slice entry and its groups.
func (s *Memory) ConnEntries() (entries, gone int) {
	for i := range s.conns {
		s.conns[i].mu.RLock()
		entries += len(s.conns[i].m)
		gone += len(s.conns[i].gone)
		s.conns[i].mu.RUnlock()
	}
	return entries, gone
}
