//go:build race

package clustertest

// raceEnabled builds the wsgate binary with -race when the tests run with it.
const raceEnabled = true
