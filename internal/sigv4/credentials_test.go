package sigv4

import (
	"errors"
	"testing"
)

// SetCredentials (a config reload) applies to the next Verify: a removed key is refused, an
// added one accepted, and the map given is copied.
func TestSetCredentials(t *testing.T) {
	v, r, body := benchRequest(t) // signed with testKey
	if !v.HasCredentials() {
		t.Fatal("HasCredentials = false with one key")
	}
	creds := map[string]string{"AKIDOTHER": "other"}
	v.SetCredentials(creds)
	var se *Error
	if err := v.Verify(r, body); !errors.As(err, &se) || se.Type != TypeUnrecognizedClient {
		t.Fatalf("after the key was removed: %v, want UnrecognizedClientException", err)
	}
	creds[testKey] = testSecret // the verifier holds a copy
	if err := v.Verify(r, body); err == nil {
		t.Fatal("a change to the caller's map reached the verifier")
	}
	v.SetCredentials(map[string]string{testKey: testSecret})
	if err := v.Verify(r, body); err != nil {
		t.Fatalf("after the key was added back: %v", err)
	}
	v.SetCredentials(nil)
	if v.HasCredentials() {
		t.Error("HasCredentials = true after SetCredentials(nil)")
	}
}
