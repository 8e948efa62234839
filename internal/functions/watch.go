package functions

import (
	"hash/fnv"
	"io/fs"
	"path/filepath"
	"strconv"
)

// skipDirs are not scanned for changes: dependency trees and caches are large, and a change
// there comes with a change of the code that uses it.
var skipDirs = map[string]bool{"node_modules": true, ".git": true, "__pycache__": true, ".aws-sam": true}

// maxWatchedFiles bounds one scan.
const maxWatchedFiles = 20000

// watcher notices changes under a code directory by comparing a digest of every file's path,
// size and modification time between scans (polling: no platform notification API, and a code
// directory is small).
type watcher struct {
	dir  string
	last uint64
}

func newWatcher(dir string) *watcher {
	w := &watcher{dir: dir}
	w.last = w.scan()
	return w
}

func (w *watcher) changed() bool {
	d := w.scan()
	if d == w.last {
		return false
	}
	w.last = d
	return true
}

func (w *watcher) scan() uint64 {
	h := fnv.New64a()
	n := 0
	_ = filepath.WalkDir(w.dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if e.IsDir() {
			if path != w.dir && skipDirs[e.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if n++; n > maxWatchedFiles {
			return filepath.SkipAll
		}
		info, err := e.Info()
		if err != nil {
			return nil
		}
		_, _ = h.Write([]byte(path))
		_, _ = h.Write([]byte(strconv.FormatInt(info.Size(), 10) + "/" + strconv.FormatInt(info.ModTime().UnixNano(), 10)))
		return nil
	})
	return h.Sum64()
}
