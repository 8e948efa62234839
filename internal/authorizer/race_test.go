//go:build race

package authorizer

// raceEnabled: the race detector allocates (and drops pooled objects), so allocation counts
// are not meaningful.
const raceEnabled = true
