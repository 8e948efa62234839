//go:build !race

package keepalive

const raceEnabled = false
