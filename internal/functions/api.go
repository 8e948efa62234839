package functions

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The Runtime API, version 2018-06-01 (AWS Lambda developer guide, "Using the Lambda runtime
// API for custom runtimes"), as one process sees it.
const (
	pathNext      = "GET /2018-06-01/runtime/invocation/next"
	pathResponse  = "POST /2018-06-01/runtime/invocation/{id}/response"
	pathError     = "POST /2018-06-01/runtime/invocation/{id}/error"
	pathInitError = "POST /2018-06-01/runtime/init/error"
)

// maxErrorBytes bounds an error document a runtime posts.
const maxErrorBytes = 1 << 20

func (p *proc) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(pathNext, p.next)
	mux.HandleFunc(pathResponse, p.response)
	mux.HandleFunc(pathError, p.invocationError)
	mux.HandleFunc(pathInitError, p.initErrorPost)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "InvalidRequest", "no such Runtime API path: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// next hands the process its next invocation, waiting as long as it takes (Lambda freezes the
// process between invocations; here the request simply blocks).
func (p *proc) next(w http.ResponseWriter, r *http.Request) {
	var inv *invocation
	select {
	case inv = <-p.work:
	case <-r.Context().Done():
		return
	case <-p.exited:
		return
	}
	now := time.Now()
	p.mu.Lock()
	if !p.ready {
		p.ready = true
		p.initDur = now.Sub(p.startedAt)
	}
	p.cur = inv
	p.mu.Unlock()
	inv.startedAt = now
	inv.deadline = now.Add(p.f.timeout)
	close(inv.started)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", p.f.arn)
	h.Set("Lambda-Runtime-Trace-Id", inv.traceID)
	h.Set("Content-Length", strconv.Itoa(len(inv.payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

// take returns the invocation id names when the process holds it and has not answered it.
func (p *proc) take(w http.ResponseWriter, id string) *invocation {
	p.mu.Lock()
	defer p.mu.Unlock()
	inv := p.cur
	if inv == nil || inv.id != id || inv.answered {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID: "+id)
		return nil
	}
	inv.answered = true
	p.cur = nil
	return inv
}

func (p *proc) response(w http.ResponseWriter, r *http.Request) {
	inv := p.take(w, r.PathValue("id"))
	if inv == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	switch {
	case err != nil:
		inv.done <- result{err: fnError("Runtime.Unknown", "reading the function's response: "+err.Error())}
		apiError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
	case len(body) > MaxPayloadBytes:
		msg := "Response payload size exceeded maximum allowed payload size (" + strconv.Itoa(MaxPayloadBytes) + " bytes)."
		inv.done <- result{err: fnError("Function.ResponseSizeTooLarge", msg)}
		apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", msg)
	default:
		if body == nil {
			body = []byte{}
		}
		inv.done <- result{body: body}
		accepted(w)
	}
}

func (p *proc) invocationError(w http.ResponseWriter, r *http.Request) {
	inv := p.take(w, r.PathValue("id"))
	if inv == nil {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorBytes))
	inv.done <- result{err: parseFnError(r.Header.Get("Lambda-Runtime-Function-Error-Type"), body)}
	accepted(w)
}

func (p *proc) initErrorPost(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorBytes))
	p.mu.Lock()
	if p.ready || p.initErr != nil {
		p.mu.Unlock()
		apiError(w, http.StatusForbidden, "InvalidStateTransition", "State transition from Ready to InitError failed for runtime")
		return
	}
	fe := parseFnError(r.Header.Get("Lambda-Runtime-Function-Error-Type"), body)
	p.initErr = fe.Payload
	p.mu.Unlock()
	p.f.s.log.Error("function init failed", "function", p.f.spec.Name, "errorType", fe.Type, "errorMessage", fe.Message)
	close(p.initFailed)
	accepted(w)
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

// apiError answers in the Runtime API's error shape.
func apiError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
