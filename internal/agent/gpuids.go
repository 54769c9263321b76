package agent

import (
	"encoding/json"
	"path/filepath"
	"slices"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/gpu"
)

// gpusFile, in the data directory, records each GPU's UUID at the index
// the agent named it by (to the server, in its tasks' GPUs, in
// caps.json); "" for a GPU whose UUID was never read. NVML numbers the
// GPUs it lists as it starts: a GPU gone from its count (fallen off the
// bus for good, removed) moves those after it down one index, and
// without this record the next agent would take GPU 2 for GPU 1, so
// place tasks on, cap, and report for other GPUs than the server
// means. The next agent gives each GPU its index again by its UUID
// (gpu.Pinner); a GPU gone is down.
const gpusFile = "gpus.json"

// pinGPUs gives the node's GPUs the indices the previous agent on the
// data directory recorded (gpusFile), then records them as they are
// now. Without a data directory (another Runtime) the GPUs keep NVML's
// numbering.
func (a *Agent) pinGPUs() {
	if a.cfg.DataDir == "" || a.cfg.Devices == nil {
		return
	}
	var was []string
	path, found, err := readRecord(a.cfg.DataDir, gpusFile, &was)
	switch {
	case !found:
	case err != nil:
		a.log.Warn("cannot read the GPUs' UUIDs a previous agent recorded: the GPUs take NVML's numbering", "file", path, "err", err)
	default:
		if p, ok := a.cfg.Devices.(gpu.Pinner); ok {
			listed := uuidsOf(a.cfg.Devices.Info())
			p.Pin(was)
			if now := uuidsOf(a.cfg.Devices.Info()); !slices.Equal(now, listed) {
				a.log.Warn("NVML numbers the GPUs otherwise than when the agent last ran (a GPU gone from its count?): each keeps its index by its UUID",
					"recorded", was, "nvml", listed, "now", now)
			}
		}
	}
	a.recordGPUs(uuidsOf(a.cfg.Devices.Info()))
}

// recordGPUs writes uuids, the GPUs' UUIDs by index, to gpusFile when
// they are not those it last wrote; a write that fails is tried again
// at the next heartbeat.
func (a *Agent) recordGPUs(uuids []string) {
	if a.cfg.DataDir == "" || slices.Equal(uuids, a.gpuUUIDs) {
		return
	}
	b, _ := json.Marshal(uuids)
	path := filepath.Join(a.cfg.DataDir, gpusFile)
	if err := replaceFile(path, b, true); err != nil {
		a.log.Warn("cannot record the GPUs' UUIDs; trying again at the next heartbeat (a restart meanwhile, with a GPU gone, could number the GPUs otherwise)",
			"file", path, "err", err)
		return
	}
	a.gpuUUIDs = slices.Clone(uuids)
}

// uuidsOf is the UUID of each GPU of info, by index.
func uuidsOf(info []api.GPUInfo) []string {
	out := make([]string, len(info))
	for _, g := range info {
		if g.Index >= 0 && g.Index < len(out) {
			out[g.Index] = g.UUID
		}
	}
	return out
}
