//go:build !cgo

package gpu

import "fmt"

// OpenNVML fails in a build without cgo: go-nvml loads the library
// through cgo. Fake GPUs work.
func OpenNVML() (Devices, error) {
	return nil, fmt.Errorf("gpu: %w: this carnot was built without cgo (CGO_ENABLED=0); use fake GPUs or a cgo build", ErrNoNVML)
}

// open gives the fake's figures directly, without go-nvml.
func (f *Fake) open() (Devices, error) { return newDirect(f), nil }
