//go:build race

package keepalive

// raceEnabled: the race detector allocates, so allocation counts are not meaningful.
const raceEnabled = true
