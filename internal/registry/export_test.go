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
