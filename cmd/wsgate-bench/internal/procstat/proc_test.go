package procstat

import (
	"os"
	"testing"
)

func TestRead(t *testing.T) {
	s, err := Read(os.Getpid())
	if err != nil || s.RSSKB <= 0 || s.CPUSecs < 0 {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := Read(1 << 30); err == nil {
		t.Fatal("no error for a missing process")
	}
}
