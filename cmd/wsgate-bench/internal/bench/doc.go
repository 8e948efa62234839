// Package bench is wsgate-bench's scenarios and their command line: idle (RSS per idle
// connection), echo (round trips through a route), push (signed POST /@connections/{id}),
// broadcast (POST /@broadcast) and churn (connect+disconnect cycles), each a bounded run
// against a loopback target that prints one result line (Result).
//
// The parts it drives have their own packages beside it: target (the loopback URL and the
// management base), wsclient (the epoll client pool and its frames), procstat (a server's RSS
// and CPU from /proc), backend (the bundled HTTP backend); the floor server is
// internal/benchfloor. Run writes progress to Stderr once a second; the figures it produces and
// the commands that produced them are in docs/benchmarks.md.
package bench
