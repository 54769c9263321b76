package cli

import (
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/grid"
	"github.com/carnot-dc/carnot/internal/model"
)

// loadGrids reads --grid ZONE=CSV flags.
func loadGrids(specs []string) ([]model.GridSeries, error) {
	var out []model.GridSeries
	for _, g := range specs {
		zone, path, ok := strings.Cut(g, "=")
		if !ok || zone == "" || path == "" {
			return nil, usageError{fmt.Errorf("--grid %q: want ZONE=FILE, e.g. FR=fr-2023-hourly.csv", g)}
		}
		gs, err := grid.LoadFile(zone, path)
		if err != nil {
			return nil, err
		}
		out = append(out, gs)
	}
	return out, nil
}
