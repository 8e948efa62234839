// Package backend is the HTTP backend the bench configs point at: a REQUEST authorizer that
// allows everyone, $connect and $disconnect answering 200, and an echo for everything else.
package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/target"
)

// authorizerAllow is the REQUEST authorizer answer the backend gives: allow, as user "bench".
const authorizerAllow = `{"principalId":"bench","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]},"context":{"userId":"bench"}}`

// Handler is the bundled backend the bench configs point at:
//
//	POST /authorize   a REQUEST authorizer (integrationType HTTP) that allows everyone
//	POST /connect     200, empty ($connect)
//	POST /disconnect  200, empty ($disconnect)
//	anything else     200 with the request body echoed (an HTTP_PROXY echo route)
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /authorize", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, authorizerAllow)
	})
	empty := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}
	mux.HandleFunc("POST /connect", empty)
	mux.HandleFunc("POST /disconnect", empty)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	return mux
}

// Start serves Handler on addr (a loopback address) until stop is called.
func Start(addr string) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("backend --listen %q: %w", addr, err)
	}
	if err := target.CheckLoopback(host); err != nil {
		return nil, fmt.Errorf("backend --listen %q: %w", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	srv := &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Println("backend:", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
