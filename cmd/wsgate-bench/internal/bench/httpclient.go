package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/target"
)

// Request is one management API call, signed and serialized once before the run so that
// neither signing nor encoding is on the load path. SigV4 has no nonce: the gateway accepts
// the same signed request again for 15 minutes, as AWS does.
type Request []byte

// Signer builds signed management requests with aws-sdk-go-v2's v4.Signer.
type Signer struct {
	creds  aws.Credentials
	region string
	signer *v4.Signer
	host   string
	when   time.Time
}

// NewSigner signs as accessKey for region (default us-east-1); an empty key sends unsigned
// requests (a gateway without management credentials accepts loopback callers).
func NewSigner(accessKey, secretKey, region, host string) *Signer {
	if region == "" {
		region = "us-east-1"
	}
	s := &Signer{region: region, host: host, when: time.Now().UTC()}
	if accessKey != "" {
		s.creds = aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
		s.signer = v4.NewSigner()
	}
	return s
}

// Build returns the wire bytes of POST rawURL with body.
func (s *Signer) Build(ctx context.Context, rawURL string, body []byte) (Request, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	req := &http.Request{Method: http.MethodPost, URL: u, Host: s.host, Header: http.Header{}, ContentLength: int64(len(body))}
	req.Header.Set("Content-Type", "application/json")
	if s.signer != nil {
		sum := sha256.Sum256(body)
		if err := s.signer.SignHTTP(ctx, s.creds, req, hex.EncodeToString(sum[:]), "execute-api", s.region, s.when); err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", u.EscapedPath(), s.host, len(body))
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes(), nil
}

// escapeSegment percent-encodes everything but unreserved characters, as the AWS SDKs encode
// a connection id in the path ("=" becomes %3D).
func escapeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// httpConn is one keep-alive HTTP/1.1 client connection that pipelines requests.
type httpConn struct {
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func dialHTTP(ctx context.Context, t *target.Target, src uint32) (*httpConn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: t.SourceAddr(src)}
	nc, err := d.DialContext(ctx, "tcp", t.MgmtHost)
	if err != nil {
		return nil, err
	}
	return &httpConn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 64<<10)}, nil
}

// readResponse reads one response and returns its status and body (Content-Length or
// chunked: Centrifugo answers a large /api/broadcast in chunks).
func (h *httpConn) readResponse() (int, []byte, error) {
	line, err := h.br.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, fmt.Errorf("bad status line %.60q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("bad status line %.60q", line)
	}
	clen, chunked := 0, false
	for {
		line, err = h.br.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(line) <= 2 {
			break
		}
		switch {
		case len(line) > 15 && (line[0] == 'C' || line[0] == 'c') && bytes.EqualFold(line[:15], []byte("content-length:")):
			clen, err = strconv.Atoi(string(bytes.TrimSpace(line[15:])))
			if err != nil {
				return 0, nil, fmt.Errorf("bad Content-Length %.60q", line)
			}
		case len(line) > 18 && (line[0] == 'T' || line[0] == 't') && bytes.EqualFold(line[:18], []byte("transfer-encoding:")):
			chunked = bytes.Contains(bytes.ToLower(line[18:]), []byte("chunked"))
		}
	}
	if chunked {
		return h.readChunked(status)
	}
	body := make([]byte, clen)
	if _, err := readFull(h.br, body); err != nil {
		return 0, nil, err
	}
	return status, body, nil
}

// readChunked reads a chunked body (RFC 9112 7.1) up to its last chunk and trailers.
func (h *httpConn) readChunked(status int) (int, []byte, error) {
	var body []byte
	for {
		line, err := h.br.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		size := bytes.TrimSpace(line)
		if i := bytes.IndexByte(size, ';'); i >= 0 {
			size = size[:i]
		}
		n, err := strconv.ParseInt(string(size), 16, 32)
		if err != nil || n < 0 {
			return 0, nil, fmt.Errorf("bad chunk size %.60q", line)
		}
		if n == 0 {
			for { // trailers, then the empty line
				line, err = h.br.ReadSlice('\n')
				if err != nil {
					return 0, nil, err
				}
				if len(line) <= 2 {
					return status, body, nil
				}
			}
		}
		start := len(body)
		body = append(body, make([]byte, n+2)...) // the chunk and its CRLF
		if _, err := readFull(h.br, body[start:]); err != nil {
			return 0, nil, err
		}
		body = body[:len(body)-2]
	}
}

func readFull(br *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := br.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
