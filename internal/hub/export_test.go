package hub

// SetFanoutWorkers makes EachParallel use n goroutines whatever GOMAXPROCS is, so that a test
// runs the parallel fan-out path on a one-CPU machine too.
func SetFanoutWorkers[C Conn](h *Hub[C], n int) { h.workers = n }
