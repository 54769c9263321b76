package secrets

import (
	"errors"
	"fmt"
)

// Failures, for errors.Is. The messages that wrap them say which blob,
// key or file line is at fault. None of them is meant for a tenant: map
// them to a generic "secret unavailable" at the API and log the detail.
var (
	// ErrMalformed: a blob is not in the format Seal writes (bad magic,
	// unknown version, truncated, lengths that do not add up).
	ErrMalformed = errors.New("malformed secret blob")
	// ErrDecrypt: authentication failed. The blob or its wrapped data key
	// was altered, it is opened with another context (aad) than it was
	// sealed with, or the key under its id is not the one that sealed it.
	ErrDecrypt = errors.New("secret does not decrypt")
	// ErrUnknownKey: the blob names a key id the KeyWrapper does not hold,
	// typically because the key was removed from the key file.
	ErrUnknownKey = errors.New("unknown key id")
	// ErrKeyFile: a key file is malformed. The error is a *KeyFileError
	// naming the file and line.
	ErrKeyFile = errors.New("invalid key file")
	// ErrKeyFileMode: a key file is not a regular file or may be read or
	// written by group or others (mode & 0o077 != 0).
	ErrKeyFileMode = errors.New("key file permissions too open")
)

// KeyFileError reports a key file that cannot be used. It never quotes
// the file's content, which may hold key material.
type KeyFileError struct {
	Path   string // the file, as given
	Line   int    // 1-based; 0 when the problem is the whole file
	Reason string // what is wrong and, where possible, what to do
	Err    error  // ErrKeyFile or ErrKeyFileMode
}

func (e *KeyFileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("secrets: key file %s:%d: %s", e.Path, e.Line, e.Reason)
	}
	return fmt.Sprintf("secrets: key file %s: %s", e.Path, e.Reason)
}

func (e *KeyFileError) Unwrap() error { return e.Err }
