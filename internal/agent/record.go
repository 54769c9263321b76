package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// readRecord decodes the JSON file name of the data directory dir, one
// of the records an agent keeps for the next (started tasks, ends it
// could not report, power caps, GPU UUIDs, process groups, processes
// that outlived SIGKILL), into v. It returns the file's path, whether
// the file is there, and the error of reading or decoding it.
func readRecord(dir, name string, v any) (path string, found bool, err error) {
	path = filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, false, nil
	}
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	return path, true, err
}
