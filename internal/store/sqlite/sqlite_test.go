package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
	"github.com/carnot-dc/carnot/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storetest.Open {
		path := filepath.Join(t.TempDir(), "carnot.db")
		return func(t *testing.T) store.Store {
			db, err := sqlite.Open(path)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return db
		}
	})
}
