package bench

import "os"

// selfRSS is this process's VmRSS in KB (0 if unreadable).
func selfRSS() int64 {
	s, err := ReadProc(os.Getpid())
	if err != nil {
		return 0
	}
	return s.RSSKB
}
