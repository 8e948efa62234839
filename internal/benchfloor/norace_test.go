//go:build !race

package benchfloor_test

const raceEnabled = false
