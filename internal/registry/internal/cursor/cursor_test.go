package cursor

import "testing"

var cases = []struct {
	in      string
	shard   int
	after   string
	wantErr bool
}{
	{"", 0, "", false},
	{Encode(0, "alice"), 0, "alice", false},
	{Encode(15, "a.b:c/é"), 15, "a.b:c/é", false},
	{Encode(3, ""), 3, "", false},
	{"16.YQ", 0, "", true},  // shard out of range for n=16
	{"-1.YQ", 0, "", true},  // negative shard
	{"01.YQ", 0, "", true},  // non-canonical number
	{"x.YQ", 0, "", true},   // not a number
	{"1.!!", 0, "", true},   // bad base64
	{"nodot", 0, "", true},  // no separator
	{"1.YQ==", 0, "", true}, // padded base64 is not what Encode writes
}

func TestParse(t *testing.T) {
	for _, tc := range cases {
		shard, after, err := Parse(tc.in, 16)
		if tc.wantErr {
			if err == nil {
				t.Errorf("Parse(%q) = %d, %q, nil; want an error", tc.in, shard, after)
			}
			continue
		}
		if err != nil || shard != tc.shard || after != tc.after {
			t.Errorf("Parse(%q) = %d, %q, %v; want %d, %q, nil", tc.in, shard, after, err, tc.shard, tc.after)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range cases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		shard, after, err := Parse(in, 16)
		if err != nil {
			return
		}
		if shard < 0 || shard >= 16 {
			t.Fatalf("Parse(%q) shard %d out of range", in, shard)
		}
		// Whatever parses must round-trip to a cursor that parses the same.
		s2, a2, err := Parse(Encode(shard, after), 16)
		if err != nil || s2 != shard || a2 != after {
			t.Fatalf("round trip of %q: %d %q %v", in, s2, a2, err)
		}
	})
}
