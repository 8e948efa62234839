package vtl

import (
	"strconv"
	"strings"
)

// jsonPath evaluates the JSONPath subset mapping templates use: "$", ".key", "['key']",
// "[n]", and the wildcards ".*" and "[*]" (which give a list). found is false when a step
// does not match.
func jsonPath(doc any, path string) (v any, found bool) {
	// Wildcards over a structure that a template made contain itself could grow without end.
	const maxPathResults = 100_000
	p := strings.TrimSpace(path)
	if !strings.HasPrefix(p, "$") {
		return nil, false
	}
	p = p[1:]
	cur := []any{doc}
	multi := false
	for p != "" {
		var key string
		var idx int
		var wild, isIdx bool
		switch {
		case strings.HasPrefix(p, ".*"):
			wild, p = true, p[2:]
		case strings.HasPrefix(p, "."):
			end := strings.IndexAny(p[1:], ".[")
			if end < 0 {
				end = len(p) - 1
			}
			key, p = p[1:1+end], p[1+end:]
			if key == "" {
				return nil, false
			}
		case strings.HasPrefix(p, "["):
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return nil, false
			}
			inner := strings.TrimSpace(p[1:end])
			p = p[end+1:]
			switch {
			case inner == "*":
				wild = true
			case len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[len(inner)-1] == inner[0]:
				key = inner[1 : len(inner)-1]
			default:
				n, err := strconv.Atoi(inner)
				if err != nil {
					return nil, false
				}
				idx, isIdx = n, true
			}
		default:
			return nil, false
		}
		var next []any
		for _, c := range cur {
			switch {
			case wild:
				switch x := c.(type) {
				case *vlist:
					next = append(next, x.items...)
				case *omap:
					for _, k := range x.keys {
						next = append(next, x.m[k])
					}
				}
			case isIdx:
				if vl, ok := c.(*vlist); ok {
					l, i := vl.items, idx
					if i < 0 { // from the end; per list, so $.a[*][-1] works on each
						i += len(l)
					}
					if i >= 0 && i < len(l) {
						next = append(next, l[i])
					}
				}
			default:
				if m, ok := c.(*omap); ok {
					if x, ok := m.get(key); ok {
						next = append(next, x)
					}
				}
			}
		}
		if len(next) > maxPathResults {
			return nil, false
		}
		multi = multi || wild
		cur = next
	}
	if multi {
		if cur == nil {
			cur = []any{}
		}
		return &vlist{items: cur}, true
	}
	if len(cur) == 0 {
		return nil, false
	}
	return cur[0], true
}
