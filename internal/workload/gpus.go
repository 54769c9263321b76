package workload

import (
	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
)

// gpuModel returns the catalog entry of a GPU model the benchmark
// facility uses (H100, H200, GB300): the figures and their sources live
// in internal/facility's catalog.
func gpuModel(name string) model.GPUModel {
	return facility.Catalog()[name]
}
