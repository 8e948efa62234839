package procstat

import "os"

// SelfRSS is this process's VmRSS in KB (0 if unreadable).
func SelfRSS() int64 {
	s, err := Read(os.Getpid())
	if err != nil {
		return 0
	}
	return s.RSSKB
}
