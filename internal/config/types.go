package config

import "time"

// Duration is a time.Duration written as "29s", "500ms", "10m" in YAML.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Size is a byte count written as 131072, "128KB" or "1MB" (KB = 1024 bytes, as AWS's limits).
type Size int64

// StringList accepts a single string or a list of strings.
type StringList []string
