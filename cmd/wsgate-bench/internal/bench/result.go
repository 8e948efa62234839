package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Result is the one line a run prints. Latencies are milliseconds; NaN (nothing measured)
// prints as null in JSON and "-" in text.
type Result struct {
	Scenario    string  `json:"scenario"`
	Kind        string  `json:"kind"` // wsgate, bare, bare+hop (the floor with --integration) or centrifugo
	Target      string  `json:"target"`
	Connections int64   `json:"connections"`    // open at the end of the connect phase
	Rate        float64 `json:"rate"`           // connects/s (idle, churn) or messages/s sent (echo, push, broadcast)
	P50         float64 `json:"p50_ms"`         // handshake latency (idle, churn), round trip (echo), POST latency (push, broadcast)
	P90         float64 `json:"p90_ms"`         //
	P99         float64 `json:"p99_ms"`         //
	P999        float64 `json:"p999_ms"`        //
	Max         float64 `json:"max_ms"`         //
	MessagesPS  float64 `json:"messages_per_s"` // messages received at the sockets per second
	Sent        int64   `json:"sent"`
	Received    int64   `json:"received"`
	Seconds     float64 `json:"seconds"` // length of the measured phase
	GatewayPID  int     `json:"gateway_pid,omitempty"`
	GatewayRSS  int64   `json:"gateway_rss_kb,omitempty"`      // at the end of the measured phase
	BaseRSS     int64   `json:"gateway_base_rss_kb,omitempty"` // before the first connection
	PerConnRSS  float64 `json:"gateway_bytes_per_conn,omitempty"`
	GatewayCPU  float64 `json:"gateway_cpu_s,omitempty"` // CPU seconds used during the run
	ClientConnB float64 `json:"client_bytes_per_conn,omitempty"`
	NoFile      uint64  `json:"nofile"`           // the open-file limit the generator got
	Items       int64   `json:"items,omitempty"`  // push: messages in all requests (Batch per request)
	Warmup      int     `json:"warmup,omitempty"` // churn: cycles run before the measured ones
	// LoadStart and LoadEnd are the 1, 5 and 15-minute load averages (/proc/loadavg) when the
	// run started and ended: on a shared machine they say how much the figures can be trusted.
	LoadStart   [3]float64 `json:"load_start"`
	LoadEnd     [3]float64 `json:"load_end"`
	Errors      int64      `json:"errors"`
	ErrorSample string     `json:"error_sample,omitempty"`
}

// Write prints r as one line: JSON or key=value text.
func (r *Result) Write(w io.Writer, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(struct {
			Result
			P50  any `json:"p50_ms"`
			P90  any `json:"p90_ms"`
			P99  any `json:"p99_ms"`
			P999 any `json:"p999_ms"`
			Max  any `json:"max_ms"`
		}{*r, num(r.P50), num(r.P90), num(r.P99), num(r.P999), num(r.Max)})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "scenario=%s kind=%s connections=%d rate=%.0f/s p50=%s p90=%s p99=%s p99.9=%s max=%s messages/s=%.0f sent=%d received=%d seconds=%.2f",
		r.Scenario, r.Kind, r.Connections, r.Rate, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.P999), ms(r.Max), r.MessagesPS, r.Sent, r.Received, r.Seconds)
	if r.GatewayPID != 0 {
		fmt.Fprintf(&sb, " gateway_rss=%dKB base_rss=%dKB bytes/conn=%.0f gateway_cpu=%.2fs", r.GatewayRSS, r.BaseRSS, r.PerConnRSS, r.GatewayCPU)
	}
	if r.ClientConnB > 0 {
		fmt.Fprintf(&sb, " client_bytes/conn=%.0f", r.ClientConnB)
	}
	if r.Warmup > 0 {
		fmt.Fprintf(&sb, " warmup=%d", r.Warmup)
	}
	fmt.Fprintf(&sb, " load=%.2f,%.2f,%.2f..%.2f,%.2f,%.2f nofile=%d errors=%d", r.LoadStart[0], r.LoadStart[1], r.LoadStart[2],
		r.LoadEnd[0], r.LoadEnd[1], r.LoadEnd[2], r.NoFile, r.Errors)
	if r.ErrorSample != "" {
		fmt.Fprintf(&sb, " error_sample=%q", r.ErrorSample)
	}
	_, err := fmt.Fprintln(w, sb.String())
	return err
}

func num(f float64) any {
	if math.IsNaN(f) {
		return nil
	}
	return math.Round(f*1000) / 1000
}

func ms(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.3fms", f)
}

// loadAvg reads the 1, 5 and 15-minute load averages from /proc/loadavg (zeros if unreadable).
func loadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}
