// Package gpu is the node agent's view of its GPUs: what they are (model,
// memory, power-limit range), what they draw and how busy they are, and
// setting their power limit.
//
// FromNVML reads real devices through NVIDIA's management library
// (github.com/NVIDIA/go-nvml). NewFake builds a fake NVML library whose
// devices report catalog figures, so a laptop can run an agent with GPUs;
// the fake is read through the same FromNVML code as the real library.
package gpu

import (
	"errors"
	"fmt"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

const mib = 1 << 20

// lostHint ends the reason of a GPU lost: what an operator does about it.
const lostHint = " (the GPU has fallen off the bus: see nvidia-smi and the kernel log's Xid errors; reset or repair it)"

// goneReason is why GPU i, of UUID uuid, is down when NVML no longer
// lists it among its n GPUs: the GPUs after it moved down in NVML's
// listing, and keep their own index, found by their UUIDs.
func goneReason(i int, uuid string, n int) string {
	return fmt.Sprintf("gpu: GPU %d (%s) is gone: NVML lists %d GPUs, none of them it (removed by the driver after falling off the bus, or a PCI remove: "+
		"see nvidia-smi and the kernel log's Xid errors; reset, rescan or repair it)", i, uuid, n)
}

// Devices is a node's set of GPUs. Implementations are safe for concurrent
// use.
type Devices interface {
	// Info describes each GPU, in index order. A GPU keeps its index
	// while NVML lists the GPUs anew (one gone from its count moves
	// those after it down in NVML's listing): GPUs are told apart by
	// their UUIDs (Pinner). A GPU down since the Devices were opened
	// (Down) has no UUID (but the one Pin gave it) nor power limit, and
	// the model, memory and cap range of the node's other GPUs (a node
	// has one model).
	Info() []api.GPUInfo
	// Down reads each GPU's health again and returns the GPUs that
	// cannot be used now (lost: fallen off the bus, in need of a
	// reset), by index, with why; nil when every GPU answers. A GPU
	// that answers again is read anew (its UUID, its limits).
	Down() map[int]string
	// Sample reads each GPU's telemetry, stamped with now. A GPU whose
	// power cannot be read (lost) is left out.
	Sample(now time.Time) []api.GPUSample
	// SetPowerLimit sets GPU index's power limit in watts. The limit must
	// lie in the GPU's MinCapW..MaxCapW range.
	SetPowerLimit(index, watts int) error
	// PowerLimits reads each GPU's power limit in force now, in watts,
	// in index order (0: it could not be read): a GPU reset, or another
	// tool, may have changed the limit SetPowerLimit set.
	PowerLimits() []int
	// Close releases the library. The Devices must not be used after.
	Close() error
}

// Pinner is implemented by device sets whose GPUs' indices follow
// NVML's listing, which moves the GPUs after one that is gone from it
// down one index when the library is read anew (an agent's restart).
// Pin gives each GPU of uuids (by index, as a previous reading gave
// them; "" for a GPU not read then) that index again: a GPU of
// uuids not listed now is down, gone, with that UUID; a GPU listed now
// and not in uuids takes the index of one not listed (a GPU replaced),
// else comes after.
type Pinner interface {
	Pin(uuids []string)
}

// Busier is implemented by device sets whose telemetry follows the work
// the agent runs on them (the fake): the agent marks a GPU busy while a
// task holds it.
type Busier interface {
	SetBusy(index int, busy bool)
}

// ErrNoNVML means the NVIDIA management library could not be used: no
// libnvidia-ml.so (no driver installed), or the library failed to
// initialise. Run with fake GPUs to develop on a machine without GPUs.
var ErrNoNVML = errors.New("NVML is not available")

// ErrPowerLimit means a power limit was refused: outside the GPU's range,
// capping not supported, or no such GPU.
var ErrPowerLimit = errors.New("power limit refused")
