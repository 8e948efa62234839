package config

import (
	"strings"
	"testing"
)

func TestAdminPprof(t *testing.T) {
	if _, err := Parse("t.yaml", []byte("admin: {listen: 127.0.0.1:9090, pprof: true}\n")); err != nil {
		t.Fatalf("pprof with admin.listen: %v", err)
	}
	_, err := Parse("t.yaml", []byte("admin: {pprof: true}\n"))
	want := "admin.pprof: needs admin.listen"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("pprof without admin.listen: got %v, want an error containing %q", err, want)
	}
}
