//go:build !unix

package sqlite

import "os"

// lockFile is a no-op where flock is missing: one process per database
// is then the operator's to ensure.
func lockFile(string) (*os.File, error) { return nil, nil }
