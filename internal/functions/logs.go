package functions

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"strconv"
)

var nilCtx = context.Background()

func levelOf(stream string) slog.Level {
	if stream == "stderr" {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// lines calls emit for each line of r without its newline. A line longer than max is cut at max
// bytes and marked, and the rest of it is read and dropped: memory stays bounded whatever the
// process writes.
func lines(r io.Reader, max int, emit func(string)) {
	br := bufio.NewReaderSize(r, max)
	for {
		b, err := br.ReadSlice('\n')
		switch err {
		case nil:
			emit(trimEOL(b))
		case bufio.ErrBufferFull:
			head := string(b)
			dropped := 0
			for err == bufio.ErrBufferFull {
				b, err = br.ReadSlice('\n')
				if err == nil {
					dropped += len(trimEOL(b))
				} else {
					dropped += len(b)
				}
			}
			emit(head + " [truncated: " + strconv.Itoa(dropped) + " more bytes]")
			if err != nil {
				return
			}
		default:
			if len(b) > 0 {
				emit(trimEOL(b))
			}
			return
		}
	}
}

func trimEOL(b []byte) string {
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		n--
	}
	if n > 0 && b[n-1] == '\r' {
		n--
	}
	return string(b[:n])
}
