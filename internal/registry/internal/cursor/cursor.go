// Package cursor encodes the OnlineUsers paging cursor shared by the registry stores.
//
// Both stores keep online users in a fixed number of shards and walk them in order, each shard
// in user-id order, so a cursor is "the shard being walked and the last user returned from
// it". The text form is "<shard>.<base64url(user)>": opaque to clients, safe in a query string.
package cursor

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Encode returns the cursor that resumes after user in shard.
func Encode(shard int, after string) string {
	return strconv.Itoa(shard) + "." + base64.RawURLEncoding.EncodeToString([]byte(after))
}

// Parse decodes a cursor for a store with n shards. The empty cursor is the first page
// (shard 0, from the start). Errors say what is wrong, for a 400 answer.
func Parse(c string, n int) (shard int, after string, err error) {
	if c == "" {
		return 0, "", nil
	}
	num, enc, ok := strings.Cut(c, ".")
	if !ok {
		return 0, "", fmt.Errorf("registry: cursor %q: not a cursor this server returned (pass the \"next\" value unchanged)", c)
	}
	shard, err = strconv.Atoi(num)
	if err != nil || shard < 0 || shard >= n || strconv.Itoa(shard) != num {
		return 0, "", fmt.Errorf("registry: cursor %q: bad shard %q (pass the \"next\" value unchanged)", c, num)
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return 0, "", fmt.Errorf("registry: cursor %q: bad position (pass the \"next\" value unchanged)", c)
	}
	return shard, string(raw), nil
}
