package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as "29s", "500ms", "10m" in YAML. A bare number is
// refused: "29" could mean seconds or milliseconds, so the unit must be written.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d as Go does ("29s", "1m30s"), which ParseDuration reads back.
func (d Duration) String() string { return time.Duration(d).String() }

// ParseDuration reads a duration as written in the config.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("expected a duration such as 29s, 500ms or 10m, got an empty value")
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("%q has no unit; write %ss (seconds) or %sms (milliseconds)", s, s, s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; write a number and a unit such as 29s, 500ms, 10m or 2h", s)
	}
	return Duration(d), nil
}

// UnmarshalYAML lets yaml.Unmarshal read a Duration directly (Load uses ParseDuration itself).
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("expected a duration such as 29s, 500ms or 10m")
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes "29s".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Size is a byte count written as 131072, "128KB" or "1MB" (KB = 1024 bytes, as AWS's limits).
type Size int64

const (
	kb = 1024
	mb = 1024 * kb
	gb = 1024 * mb
)

var sizeUnits = []struct {
	name string
	mult int64
}{{"GB", gb}, {"MB", mb}, {"KB", kb}, {"GIB", gb}, {"MIB", mb}, {"KIB", kb}, {"G", gb}, {"M", mb}, {"K", kb}, {"B", 1}}

// ParseSize reads a size as written in the config: a whole number of bytes, or a whole number
// followed by B, KB, MB or GB (1024-based; KiB/MiB/GiB and K/M/G are read the same way).
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("expected a size such as 131072, 128KB or 1MB, got an empty value")
	}
	num, mult := t, int64(1)
	up := strings.ToUpper(t)
	for _, u := range sizeUnits {
		if strings.HasSuffix(up, u.name) {
			num, mult = strings.TrimSpace(t[:len(t)-len(u.name)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size; write a whole number of bytes (131072) or one with a unit: 128KB, 1MB", s)
	}
	if n > (1<<62)/mult || n < -(1<<62)/mult {
		return 0, fmt.Errorf("%q is too large; sizes go up to a few GB", s)
	}
	return Size(n * mult), nil
}

// String writes the size with the largest unit that divides it exactly ("128KB", "1MB"), else
// in bytes ("1000"). ParseSize reads it back.
func (s Size) String() string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"GB", gb}, {"MB", mb}, {"KB", kb}} {
		if s != 0 && int64(s)%u.mult == 0 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// UnmarshalYAML lets yaml.Unmarshal read a Size directly.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("expected a size such as 131072, 128KB or 1MB")
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalYAML writes "128KB" when exact, else the byte count as a number.
func (s Size) MarshalYAML() (any, error) {
	str := s.String()
	if n, err := strconv.ParseInt(str, 10, 64); err == nil {
		return n, nil
	}
	return str, nil
}

// StringList accepts a single string or a list of strings.
type StringList []string

// UnmarshalYAML lets yaml.Unmarshal read a StringList directly.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = StringList{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(StringList, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return errors.New("expected a string or a list of strings, e.g. [a, b]")
			}
			out = append(out, c.Value)
		}
		*l = out
		return nil
	}
	return errors.New("expected a string or a list of strings, e.g. [a, b]")
}

// MarshalYAML writes one element as a plain string and several as a list.
func (l StringList) MarshalYAML() (any, error) {
	if len(l) == 1 {
		return l[0], nil
	}
	return []string(l), nil
}
