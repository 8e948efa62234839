//go:build race

package management

// raceEnabled: the race detector allocates, so allocation counts are not meaningful.
const raceEnabled = true
