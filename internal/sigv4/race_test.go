//go:build race

package sigv4

// raceEnabled: the race detector allocates, so allocation counts are not meaningful.
const raceEnabled = true
