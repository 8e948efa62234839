//go:build race

package gateway

// raceEnabled: the race detector allocates, so allocation counts are not meaningful.
const raceEnabled = true
