package cfn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// parseDocument reads a template in YAML or JSON into a yaml.Node tree, so that both formats
// share one evaluator and every node keeps its line. JSON is detected by its first
// non-space byte and read with encoding/json (YAML parsers trip over tab-indented JSON);
// everything else is YAML, short-form tags (!Ref, !Sub...) included.
func parseDocument(file string, data []byte) (*yaml.Node, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, &Error{File: file, Msg: "empty template: expected a mapping with a Resources section"}
	}
	var root *yaml.Node
	if trimmed[0] == '{' {
		n, err := parseJSON(data)
		if err != nil {
			var se *json.SyntaxError
			line := 0
			if errors.As(err, &se) {
				line = lineOf(data, se.Offset)
			}
			return nil, &Error{File: file, Line: line, Msg: "invalid JSON: " + err.Error()}
		}
		root = n
	} else {
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, &Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
			return nil, &Error{File: file, Msg: "empty template: expected a mapping with a Resources section"}
		}
		root = doc.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: root.Line, Msg: "a template must be a mapping with a Resources section"}
	}
	return root, nil
}

// lineOf returns the 1-based line of byte offset off in data.
func lineOf(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// parseJSON builds a yaml.Node tree from JSON, with lines, using the streaming tokenizer.
func parseJSON(data []byte) (*yaml.Node, error) {
	// Line starts, to turn decoder offsets into lines cheaply.
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	line := func(off int64) int {
		return sort.Search(len(starts), func(i int) bool { return int64(starts[i]) > off })
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var build func(depth int) (*yaml.Node, error)
	build = func(depth int) (*yaml.Node, error) {
		if depth > maxDepth {
			return nil, fmt.Errorf("nested more than %d levels", maxDepth)
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		// The offset before Token may sit on whitespace or a separator; the line of the token's
		// end is close enough and never before it.
		ln := line(dec.InputOffset() - 1)
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: ln}
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return nil, err
					}
					k, ok := kt.(string)
					if !ok {
						return nil, fmt.Errorf("object key must be a string")
					}
					kn := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k, Line: line(dec.InputOffset() - 1)}
					vn, err := build(depth + 1)
					if err != nil {
						return nil, err
					}
					n.Content = append(n.Content, kn, vn)
				}
				if _, err := dec.Token(); err != nil {
					return nil, err
				}
				return n, nil
			case '[':
				n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: ln}
				for dec.More() {
					vn, err := build(depth + 1)
					if err != nil {
						return nil, err
					}
					n.Content = append(n.Content, vn)
				}
				if _, err := dec.Token(); err != nil {
					return nil, err
				}
				return n, nil
			}
			return nil, fmt.Errorf("unexpected %q", v)
		case string:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle, Line: ln}, nil
		case json.Number:
			tag := "!!int"
			if strings.ContainsAny(string(v), ".eE") {
				tag = "!!float"
			}
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(v), Line: ln}, nil
		case bool:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(v), Line: ln}, nil
		case nil:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: ln}, nil
		}
		return nil, fmt.Errorf("unexpected token %v", tok)
	}
	n, err := build(0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("unexpected data after the top-level object")
		}
		return nil, err
	}
	return n, nil
}
