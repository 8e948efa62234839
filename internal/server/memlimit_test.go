package server

import (
	"os"
	"path/filepath"
	"testing"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAvailableMemory: the soft memory limit follows the cgroup's limit when it is below the
// machine's memory (v1 and v2 layouts), and the machine's otherwise.
func TestAvailableMemory(t *testing.T) {
	const meminfo = "MemTotal:        2048000 kB\nMemFree:          100 kB\n"
	machine := int64(2048000 * 1024)
	for _, tc := range []struct {
		name   string
		files  map[string]string
		want   int64
		source string
	}{
		{"v2 limit", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "0::/svc\n",
			"sys/fs/cgroup/svc/memory.max": "536870912\n"}, 536870912, "cgroup"},
		{"v2 max", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "0::/svc\n",
			"sys/fs/cgroup/svc/memory.max": "max\n"}, machine, "machine"},
		{"v2 in a container", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "0::/\n",
			"sys/fs/cgroup/memory.max": "268435456\n"}, 268435456, "cgroup"},
		{"v1 limit", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "4:memory:/a/b\n1:cpu:/\n0::/\n",
			"sys/fs/cgroup/memory/a/b/memory.limit_in_bytes": "1073741824\n"}, 1073741824, "cgroup"},
		{"v1 unlimited", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "4:memory:/a\n",
			"sys/fs/cgroup/memory/a/memory.limit_in_bytes": "9223372036854771712\n"}, machine, "machine"},
		{"limit above the machine", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "0::/svc\n",
			"sys/fs/cgroup/svc/memory.max": "99999999999999\n"}, machine, "machine"},
		{"nothing readable", map[string]string{}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tc.files)
			got, source := availableMemory(root)
			if got != tc.want || source != tc.source {
				t.Fatalf("availableMemory = %d, %q; want %d, %q", got, source, tc.want, tc.source)
			}
		})
	}
}
