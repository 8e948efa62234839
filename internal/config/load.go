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
		return nil, Errors{yamlError(name, err)}
	}
	if root != nil {
		d.decode(root, reflect.ValueOf(c).Elem(), "")
	}
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

// yamlError turns a yaml.v3 syntax error into an Error with its line.
func yamlError(file string, err error) Error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Error{File: file, Line: line, Msg: "YAML syntax: " + m[2]}
	}
	return Error{File: file, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
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
