package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads, expands ${ENV}, decodes, applies defaults and validates a YAML file. On failure the
// error is an Errors (every problem at once), each "FILE:LINE: key.path: what is wrong; what to
// write instead"; a file that cannot be read gives an Errors with that one problem.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read config: %v", errors.Unwrap(err))}}
	}
	return Parse(path, data)
}

// Parse is Load on bytes; name is used in messages. ${ENV} references read the process
// environment.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, data, os.LookupEnv)
}

func parse(name string, data []byte, lookup lookupFunc) (*Config, error) {
	c := &Config{file: name, lines: map[string]int{}}
	d := &decoder{file: name, lookup: lookup, lines: c.lines}

	root, err := parseYAML(data)
	if err != nil {
		return nil, Errors{yamlError(name, data, err)}
	}
	if root == nil {
		return nil, Errors{{File: name, Msg: "the file is empty (or only comments): a config needs at least routes:; " +
			"'wsgate config example' prints a complete one"}}
	}
	d.decode(root, reflect.ValueOf(c).Elem(), "")
	c.ApplyDefaults()
	errs := d.errs
	for _, e := range c.validate() {
		if !skipped(e.Path, d.bad, d.suspect) {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return nil, sortErrors(errs)
	}
	return c, nil
}

// parseYAML parses a single YAML document into its root node (nil when empty).
func parseYAML(data []byte) (root *yaml.Node, err error) {
	defer func() {
		// yaml.v3 has panicked on some malformed inputs; a bad file must not crash the CLI.
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("yaml: cannot parse the file (%v)", r)
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("yaml: line %d: a second YAML document (---) follows; a config file holds one document", extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a yaml.v3 syntax error into an Error at the line of the fault, with a hint.
// yaml.v3 reports some faults at the line where the enclosing mapping began ("did not find
// expected key" at the parent's line for a key indented wrongly ten lines below), so the line is
// found again as the first line at which the file, read up to there, stops parsing.
func yamlError(file string, data []byte, err error) Error {
	msg := err.Error()
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		return Error{File: file, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	what := m[2]
	switch {
	case strings.Contains(what, "did not find expected ',' or '}'"):
		line = unclosedFrom(data, line, '{', '}')
	case strings.Contains(what, "did not find expected ',' or ']'"):
		line = unclosedFrom(data, line, '[', ']')
	case !truncationError(what):
		if l := firstFailingLine(data, line); l > 0 {
			line = l
		}
	}
	e := Error{File: file, Line: line, Msg: "YAML syntax: " + what}
	if h := yamlHint(what, lineOf(data, line)); h != "" {
		e.Msg += "; " + h
	}
	return e
}

// truncationError reports whether a yaml.v3 message is what a file cut short gives (so a prefix
// failing with it says nothing about where the fault is).
func truncationError(msg string) bool {
	return strings.Contains(msg, "end of stream") || strings.Contains(msg, "did not find expected ',' or")
}

// firstFailingLine returns the first line n >= from whose prefix (lines 1..n) fails to parse
// for a reason other than being cut short, or 0 when the whole file does not.
func firstFailingLine(data []byte, from int) int {
	lines := strings.SplitAfter(string(data), "\n")
	fails := func(n int) bool {
		_, err := parseYAML([]byte(strings.Join(lines[:n], "")))
		return err != nil && !truncationError(err.Error())
	}
	// A parser stops at the first fault, so the prefixes that fail are (nearly) all those past
	// it: a binary search finds the first in a few parses.
	lo, hi := max(from, 1), len(lines)
	if lo > hi || !fails(hi) {
		return 0
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// unclosedFrom returns the first line n >= from (yaml.v3 reports an unclosed flow collection at
// or before its line) on which open outnumbers closing outside quotes, or from if none does.
func unclosedFrom(data []byte, from int, open, closing byte) int {
	lines := strings.Split(string(data), "\n")
	for n := max(from, 1); n <= len(lines); n++ {
		depth := 0
		var quote byte
		line := lines[n-1]
	scan:
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
				break scan // a comment
			case c == open:
				depth++
			case c == closing:
				depth--
			}
		}
		if depth > 0 {
			return n
		}
	}
	return from
}

func lineOf(data []byte, n int) string {
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}

// yamlHint says what usually causes a yaml.v3 message, for the line it is reported at.
func yamlHint(msg, line string) string {
	switch {
	case strings.Contains(line, "\t") && strings.Contains(msg, "cannot start any token"):
		return "YAML indents with spaces, never tabs: replace the tab on this line"
	case strings.Contains(msg, "did not find expected key"), strings.Contains(msg, "did not find expected '-' indicator"):
		return "check this line's indentation: a key lines up with the keys of its mapping (the same number of spaces), one level deeper than its parent"
	case strings.Contains(msg, "mapping values are not allowed"):
		return "this line is indented under a key that already has a value, or an unquoted value contains ': '; fix the indentation or quote the value"
	case strings.Contains(msg, "could not find expected ':'"):
		return "write this line as key: value"
	case strings.Contains(msg, "did not find expected ',' or '}'"):
		return "a { opened on this line is not closed: end the mapping with } on this line, separate its entries with commas, or write it in block style (key: value on lines of their own)"
	case strings.Contains(msg, "did not find expected ',' or ']'"):
		return "a [ opened on this line is not closed: end the list with ] on this line, separate its items with commas, or write it in block style (- item on lines of their own)"
	case strings.Contains(msg, "end of stream"):
		return "a quote or bracket opened here is not closed"
	case strings.Contains(msg, "found character that cannot start any token"):
		return "quote the value: a plain YAML value cannot start with this character (` @ % or a tab)"
	}
	return ""
}

// skipped reports whether a validation error at path should be dropped because the value there
// (or around it) already failed to decode: its zero value would only cause noise.
func skipped(path string, bad, suspect []string) bool {
	for _, b := range bad {
		if under(path, b) {
			return true
		}
	}
	for _, s := range suspect {
		if under(path, s) {
			return true
		}
	}
	return false
}

// Line returns the line of a key path in the loaded file ("integrations.app.uri", see Path), 0
// if unknown (not in the file, or the config was built in code). It lets validation done
// elsewhere (route expressions, templates) still report file:line.
func (c *Config) Line(path string) int {
	if c == nil {
		return 0
	}
	return c.lines[path]
}

// File returns the name the config was loaded from ("" when built in code).
func (c *Config) File() string {
	if c == nil {
		return ""
	}
	return c.file
}

// Errorf makes an Error at a key path of this config, with the line of the path or, when the
// path was not written in the file (a default), of its nearest written parent. For packages
// that validate parts of the config themselves.
func (c *Config) Errorf(path, format string, args ...any) Error {
	return Error{File: c.File(), Line: c.lineNear(path), Path: path, Msg: fmt.Sprintf(format, args...)}
}

// lineNear is Line of path or of its nearest ancestor that has a line.
func (c *Config) lineNear(path string) int {
	for p := path; ; p = parentPath(p) {
		if l := c.Line(p); l > 0 {
			return l
		}
		if p == "" {
			return 0
		}
	}
}
