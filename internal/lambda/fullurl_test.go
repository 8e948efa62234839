package lambda

import (
	"context"
	"testing"
)

// The Runtime Interface Emulator answers only at .../functions/function/invocations, so an
// endpoint that is already a full invocations URL is called as given, whatever the function's
// name.
func TestInvokeEndpointFullInvocationsURL(t *testing.T) {
	api := &invokeAPI{result: `{"statusCode":200}`}
	srv := api.start(t)
	inv := New("EchoFunction", srv.URL+"/2015-03-31/functions/function/invocations", "", srv.Client())
	if _, err := inv.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if api.gotPath != "/2015-03-31/functions/function/invocations" {
		t.Fatalf("path %q, want the endpoint as given", api.gotPath)
	}
}
