package harness

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
)

// Buffer collects output written by other goroutines (a node's log, a process's stderr) for a
// test to read. Safe for concurrent use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Tail is the last n lines written, for failure messages.
func (b *Buffer) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Records decodes the JSON log lines written so far (slog's JSON handler) and returns those
// whose "msg" is msg. Lines that are not JSON are skipped.
func (b *Buffer) Records(msg string) []map[string]any {
	var out []map[string]any
	for line := range strings.SplitSeq(b.String(), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}
