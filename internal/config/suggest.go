package config

import "strings"

// suggest returns the candidate closest to got (case-insensitively), or "" when none is close
// enough to be a plausible typo. Used for "did you mean" hints.
func suggest(got string, candidates []string) string {
	best, bestD := "", -1
	g := strings.ToLower(got)
	for _, c := range candidates {
		d := editDistance(g, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 {
		return ""
	}
	n := len([]rune(got))
	limit := 2
	switch {
	case n <= 3:
		limit = 1
	case n > 8:
		limit = n/4 + 1
	}
	if bestD > limit {
		return ""
	}
	return best
}

// didYouMean is "; did you mean X?" or "".
func didYouMean(got string, candidates []string) string {
	if s := suggest(got, candidates); s != "" {
		return "; did you mean " + s + "?"
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b (runes), with a transposition of
// two neighbours counting as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 { // a key this long is no typo of ours; stay cheap
		if a == b {
			return 0
		}
		return 1 << 20
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// orElse is hint, or alt when hint is empty.
func orElse(hint, alt string) string {
	if hint != "" {
		return hint
	}
	return alt
}
