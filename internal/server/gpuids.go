package server

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/api"
)

// How a task is told its GPUs. Carnot's GPU indices (placements,
// telemetry, power caps) are NVML's. CUDA numbers devices in an order of
// its own (CUDA_DEVICE_ORDER defaults to FASTEST_FIRST), so an index in
// CUDA_VISIBLE_DEVICES may name another GPU than NVML's of that index.
// A UUID names one GPU for both, as NVIDIA's container toolkit and
// device plugin pass them: the agent reports each GPU's UUID at
// registration, the node keeps them, and a task's CUDA_VISIBLE_DEVICES
// lists those of its GPUs. A node whose agent reported none (or that
// the server reloaded from an older store) gets the indices, with
// CUDA_DEVICE_ORDER=PCI_BUS_ID, the order NVML numbers GPUs in.

// gpuUUID is what a registration may give as a GPU's UUID: NVML's
// GPU-… and MIG-… forms, and nothing that would split or end the list
// of CUDA_VISIBLE_DEVICES (commas, spaces, control characters). 96 bytes
// is NVML's largest UUID buffer.
var gpuUUID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,95}$`)

// checkUUIDs checks the UUIDs of a registration's GPUs and returns them
// by index: every GPU has one, distinct, or none has one (nil: the node's
// tasks get indices). A GPU down (its agent could not read it) may have
// none while the others have theirs: a task on it, once it is up, gets
// indices, until its agent registers it with its UUID.
func checkUUIDs(gpus []api.GPUInfo, down map[int]bool) ([]string, []api.FieldError) {
	var errs []api.FieldError
	have := 0
	for _, g := range gpus {
		if g.UUID != "" {
			have++
		}
	}
	if have == 0 {
		return nil, nil
	}
	uuids := make([]string, len(gpus))
	first := map[string]int{}
	for i, g := range gpus {
		f := fmt.Sprintf("gpus[%d].uuid", i)
		j, dup := first[g.UUID]
		switch {
		case g.UUID == "" && down[i]:
		case g.UUID == "":
			errs = append(errs, api.FieldError{Field: f, Message: fmt.Sprintf("missing while %d of the %d GPUs have one: report every GPU's UUID, or none", have, len(gpus))})
		case !gpuUUID.MatchString(g.UUID):
			errs = append(errs, api.FieldError{Field: f, Message: fmt.Sprintf("%q is not a GPU UUID: 1–96 letters, digits, '.', '_', ':', '/' or '-' (NVML's GPU-… or MIG-…)", truncate(g.UUID, 100))})
		case dup:
			errs = append(errs, api.FieldError{Field: f, Message: fmt.Sprintf("%s is also gpus[%d]'s: each GPU has its own UUID", g.UUID, j)})
		default:
			first[g.UUID] = i
		}
		uuids[i] = g.UUID
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return uuids, nil
}

// truncate is s cut to at most n bytes, marked with … when cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// setVisibleDevices sets the variables that tell a task's CUDA its GPUs
// gpus (indices) of a node whose GPUs have the UUIDs uuids by index: the
// UUIDs when the node has one for each GPU, else the indices in PCI bus
// order, which replaces a CUDA_DEVICE_ORDER the job gives.
func setVisibleDevices(env map[string]string, gpus []int, uuids []string) {
	ids := make([]string, len(gpus))
	for k, g := range gpus {
		if g < 0 || g >= len(uuids) || uuids[g] == "" {
			ids = nil
			break
		}
		ids[k] = uuids[g]
	}
	if ids == nil {
		ids = make([]string, len(gpus))
		for k, g := range gpus {
			ids[k] = strconv.Itoa(g)
		}
		env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
	}
	env["CUDA_VISIBLE_DEVICES"] = strings.Join(ids, ",")
}
