package config

import (
	_ "embed"
	"fmt"
)

//go:embed example.yaml
var exampleYAML []byte

// ExampleName is the file name used in messages about the embedded example.
const ExampleName = "example.yaml"

// Example is the YAML of the embedded demo config, printed by `wsgate config example`: a
// MOCK-backed echo API (listen 127.0.0.1:8080, stage dev) with commented-out examples of every
// other section. It parses cleanly. The caller may modify the returned slice.
func Example() []byte {
	return append([]byte(nil), exampleYAML...)
}

// Default returns the parsed Example: the config `wsgate serve` uses with no --config. Each call
// returns a new Config. It reads no environment (the example has no ${ENV} outside comments).
func Default() *Config {
	c, err := parse(ExampleName, exampleYAML, func(string) (string, bool) { return "", false })
	if err != nil {
		panic(fmt.Sprintf("config: the embedded example does not parse: %v", err)) // a test guards this
	}
	return c
}
