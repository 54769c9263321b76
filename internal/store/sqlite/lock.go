package sqlite

import (
	"errors"
	"fmt"
	"os"

	"github.com/carnot-dc/carnot/internal/filelock"
)

// lockFile takes the database's lock (filelock): another process, or
// another Open in this one, gets ErrInUse naming the holder's ID.
func lockFile(path string) (*os.File, error) {
	f, err := filelock.Lock(path)
	if held := (*filelock.HeldError)(nil); errors.As(err, &held) {
		return nil, fmt.Errorf("%w (%v)", ErrInUse, held)
	}
	return f, err
}
