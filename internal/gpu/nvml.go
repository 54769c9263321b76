//go:build cgo

package gpu

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/carnot-dc/carnot/internal/api"
)

// nvmlDevices is Devices over an nvml.Interface: the real library or the
// fake's mock.
//
// A GPU's index is the one NVML gave it as the library was read (or
// Pin gave it), and stays its own: NVML lists a GPU gone from its count
// no more and moves the GPUs after it down one index, so a GPU whose
// handle is missing or fails is found again among NVML's GPUs by its
// UUID (findLocked), never by its index.
type nvmlDevices struct {
	lib nvml.Interface

	mu    sync.Mutex
	devs  []nvml.Device  // nil for a GPU whose handle could not be had
	uuids []string       // each GPU's identity: its UUID once read (or pinned), "" until
	info  []api.GPUInfo  // PowerLimitW follows SetPowerLimit
	down  map[int]string // the GPUs that cannot be used, with why
	read  map[int]bool   // the GPUs whose info was read (not a stand-in), and that answer since
}

// FromNVML initialises lib and reads its devices. Pass nvml.New() for the
// real library; without one (no driver) the error wraps ErrNoNVML. A GPU
// that cannot be read (lost, in need of a reset) is down (Devices.Down),
// not an error, unless every GPU is: a node runs on its healthy GPUs, as
// a device plugin reports one unhealthy and the others on. The caller
// closes the Devices, which shuts lib down.
func FromNVML(lib nvml.Interface) (Devices, error) {
	if ret := lib.Init(); ret != nvml.SUCCESS {
		hint := ""
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND {
			hint = ": libnvidia-ml.so not found (is the NVIDIA driver installed?)"
		}
		return nil, fmt.Errorf("gpu: %w (init: %v%s); use fake GPUs on a machine without them", ErrNoNVML, ret, hint)
	}
	d, err := readDevices(lib)
	if err != nil {
		lib.Shutdown()
		return nil, err
	}
	return d, nil
}

func readDevices(lib nvml.Interface) (*nvmlDevices, error) {
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("gpu: count devices: %w", ret)
	}
	d := &nvmlDevices{lib: lib}
	if err := d.readAllLocked(make([]string, n), true); err != nil {
		return nil, err
	}
	return d, nil
}

// readAllLocked reads the GPUs of uuids (by index; "" for one of no
// known identity) anew, with their handles, their stand-ins for those
// that cannot be read; it fails when none can be. byIndex (the library
// first read: no GPU has an identity yet) reads GPU i at NVML's index
// i. Caller holds mu (or owns d).
func (d *nvmlDevices) readAllLocked(uuids []string, byIndex bool) error {
	n := len(uuids)
	d.devs, d.uuids, d.info = make([]nvml.Device, n), uuids, make([]api.GPUInfo, n)
	d.down, d.read = map[int]string{}, map[int]bool{}
	var first error
	for i := range n {
		d.info[i] = api.GPUInfo{Index: i, UUID: uuids[i]}
		var err error
		if byIndex {
			err = d.readAtLocked(i)
		} else {
			err = d.readLocked(i)
		}
		if err != nil {
			d.down[i] = err.Error()
			first = cmp.Or(first, err)
		}
	}
	if n > 0 && len(d.down) == n {
		return fmt.Errorf("%w (and every other GPU of the node: none to run on)", first)
	}
	d.standInsLocked()
	return nil
}

// readAtLocked reads GPU i at NVML's index i into d's records. Caller
// holds mu (or owns d).
func (d *nvmlDevices) readAtLocked(i int) error {
	h, ret := d.lib.DeviceGetHandleByIndex(i)
	if ret != nvml.SUCCESS {
		return deviceError("handle", i, ret)
	}
	info, err := readInfo(i, h)
	if err != nil {
		return err
	}
	d.devs[i], d.info[i], d.read[i], d.uuids[i] = h, info, true, info.UUID
	return nil
}

// readLocked reads GPU i into d's records: through its handle, else
// through the one NVML lists for it now (findLocked). Caller holds mu
// (or owns d).
func (d *nvmlDevices) readLocked(i int) error {
	var failed error
	if dev := d.devs[i]; dev != nil {
		info, err := readInfo(i, dev)
		if err == nil && (d.uuids[i] == "" || info.UUID == d.uuids[i]) {
			d.info[i], d.read[i], d.uuids[i] = info, true, info.UUID
			return nil
		}
		failed = err // lost, say: NVML may list it anew
	}
	dev, err := d.findLocked(i)
	var gone goneError
	switch {
	case err != nil && failed != nil && !errors.As(err, &gone):
		return failed // lost, as its handle says
	case err != nil:
		return err
	}
	info, err := readInfo(i, dev)
	if err != nil {
		return err
	}
	d.devs[i], d.info[i], d.read[i], d.uuids[i] = dev, info, true, info.UUID
	return nil
}

// findLocked is the handle of GPU i among the GPUs NVML lists now: the
// one of its UUID, or, for a GPU never read, one no other GPU of d is,
// NVML's index i first. Caller holds mu.
func (d *nvmlDevices) findLocked(i int) (nvml.Device, error) {
	n, ret := d.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, deviceError("count of devices, for", i, ret)
	}
	var free nvml.Device  // of no identity of d's
	var atI, unread error // why NVML's index i, and the first GPU that cannot be, cannot be read
	for j := range n {
		h, ret := d.lib.DeviceGetHandleByIndex(j)
		if ret != nvml.SUCCESS {
			unread = cmp.Or(unread, deviceError("handle", j, ret))
			if j == i {
				atI = deviceError("handle", i, ret)
			}
			continue
		}
		uuid, ret := h.GetUUID()
		switch {
		case ret != nvml.SUCCESS:
			unread = cmp.Or(unread, deviceError("UUID", j, ret))
			if j == i {
				atI = deviceError("UUID", i, ret)
			}
		case d.uuids[i] != "":
			if uuid == d.uuids[i] {
				return h, nil
			}
		case !slices.Contains(d.uuids, uuid) && (free == nil || j == i):
			free = h
		}
	}
	switch {
	case d.uuids[i] != "" && unread != nil:
		// Maybe the GPU NVML lists that does not answer.
		return nil, fmt.Errorf("gpu: GPU %d (%s) is not among the GPUs NVML lists that answer; of those that do not (at NVML's index): %w", i, d.uuids[i], unread)
	case d.uuids[i] != "":
		return nil, goneError(goneReason(i, d.uuids[i], n))
	case free != nil:
		return free, nil
	case atI != nil:
		return nil, atI
	}
	return nil, fmt.Errorf("gpu: GPU %d: none of the %d GPUs NVML lists is left for it: the node has fewer GPUs than it had%s", i, n, lostHint)
}

// goneError says a GPU is gone from NVML's count (goneReason).
type goneError string

func (e goneError) Error() string { return string(e) }

// Pin implements Pinner.
func (d *nvmlDevices) Pin(uuids []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if slices.Equal(uuids, d.uuids) {
		return
	}
	listed := len(d.uuids)
	pinned := slices.Clone(uuids)
	// The GPUs of no identity pinned (a GPU replaced, or added) take the
	// indices of those NVML does not list, then come after them.
	var gone []int
	for i, u := range pinned {
		if u != "" && !slices.Contains(d.uuids, u) {
			gone = append(gone, i)
		}
	}
	for _, u := range d.uuids {
		if u == "" || slices.Contains(pinned, u) {
			continue
		}
		if len(gone) > 0 {
			pinned[gone[0]], gone = u, gone[1:]
			continue
		}
		pinned = append(pinned, u)
	}
	for len(pinned) < len(d.uuids) { // GPUs never read: they stay GPUs
		pinned = append(pinned, "")
	}
	if err := d.readAllLocked(pinned, false); err != nil {
		// None of them answers: the GPUs as read before, which did.
		_ = d.readAllLocked(make([]string, listed), true)
	}
}

// standInsLocked gives each GPU never read the model, memory and cap
// range of a GPU that was: a node has one model. Caller holds mu.
func (d *nvmlDevices) standInsLocked() {
	for j := range d.info {
		if !d.read[j] {
			continue
		}
		like := d.info[j]
		for i := range d.info {
			if !d.read[i] {
				d.info[i] = api.GPUInfo{Index: i, UUID: d.uuids[i], Model: like.Model, MemoryMiB: like.MemoryMiB, MinCapW: like.MinCapW, MaxCapW: like.MaxCapW}
			}
		}
		return
	}
}

// deviceError is a failed read of device i's what, with what an
// operator does about a GPU lost or in need of a reset: the agent runs
// without it, reads it again at every heartbeat, and takes it back once
// it answers.
func deviceError(what string, i int, ret nvml.Return) error {
	hint := ""
	switch ret {
	case nvml.ERROR_GPU_IS_LOST:
		hint = lostHint
	case nvml.ERROR_RESET_REQUIRED:
		hint = " (the GPU needs a reset: see the kernel log's Xid errors; reset it (nvidia-smi -r, or reboot))"
	}
	return fmt.Errorf("gpu: %s of device %d: %w%s", what, i, ret, hint)
}

// readInfo reads one device's static description. Name, UUID and memory
// are required; the power figures are optional (0 when the device does
// not report them, as some do not support capping).
func readInfo(i int, dev nvml.Device) (api.GPUInfo, error) {
	name, ret := dev.GetName()
	if ret != nvml.SUCCESS {
		return api.GPUInfo{}, deviceError("name", i, ret)
	}
	uuid, ret := dev.GetUUID()
	if ret != nvml.SUCCESS {
		return api.GPUInfo{}, deviceError("UUID", i, ret)
	}
	mem, ret := dev.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return api.GPUInfo{}, deviceError("memory", i, ret)
	}
	info := api.GPUInfo{Index: i, UUID: uuid, Model: ModelName(name), MemoryMiB: int(mem.Total / mib)}
	if limit, ret := dev.GetPowerManagementLimit(); ret == nvml.SUCCESS {
		info.PowerLimitW = int(limit / 1000)
	}
	if lo, hi, ret := dev.GetPowerManagementLimitConstraints(); ret == nvml.SUCCESS {
		info.MinCapW, info.MaxCapW = int(lo/1000), int(hi/1000)
	}
	return info, nil
}

// Info implements Devices.
func (d *nvmlDevices) Info() []api.GPUInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.info)
}

// handles is each GPU's handle, nil for a GPU without one.
func (d *nvmlDevices) handles() []nvml.Device {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.devs)
}

// Down implements Devices. A GPU with a handle is down while its UUID
// cannot be read, or its power reading says it is lost or needs a reset
// (another failed reading, a driver busy for a moment, only leaves it
// out of the sample: a GPU down has work kept off it, and must not
// flap); one without (lost as it was first read), or whose UUID could
// not be read, while it cannot be read again, through its handle or
// the one NVML lists for it by its UUID (gone from NVML's count: down).
func (d *nvmlDevices) Down() map[int]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, dev := range d.devs {
		var err error
		if dev == nil || !d.read[i] {
			err = d.readLocked(i)
		} else if _, ret := dev.GetUUID(); ret != nvml.SUCCESS {
			err = deviceError("UUID", i, ret)
			d.read[i] = false // found again by its UUID once it answers
			if errors.Is(ret, nvml.ERROR_GPU_IS_LOST) {
				if gone := d.goneLocked(i); gone != nil {
					err = gone
				}
			}
		} else if _, ret := dev.GetPowerUsage(); ret == nvml.ERROR_GPU_IS_LOST || ret == nvml.ERROR_RESET_REQUIRED {
			err = deviceError("power", i, ret)
		}
		if err != nil {
			d.down[i] = err.Error()
		} else {
			delete(d.down, i)
		}
	}
	if len(d.down) == 0 {
		return nil
	}
	return maps.Clone(d.down)
}

// goneLocked says that GPU i is gone from NVML's count, when NVML lists
// fewer GPUs than d has; nil when it lists as many (it is lost, still
// counted). Caller holds mu.
func (d *nvmlDevices) goneLocked(i int) error {
	if n, ret := d.lib.DeviceGetCount(); ret == nvml.SUCCESS && n < len(d.devs) && d.uuids[i] != "" {
		return goneError(goneReason(i, d.uuids[i], n))
	}
	return nil
}

// Sample implements Devices. A GPU whose power reading fails (lost,
// fallen off the bus) is left out: its figures, all 0, would show an
// idle GPU drawing nothing. One without a power sensor reports 0 W; any
// other figure the device fails to report is 0.
func (d *nvmlDevices) Sample(now time.Time) []api.GPUSample {
	devs := d.handles()
	out := make([]api.GPUSample, 0, len(devs))
	for i, dev := range devs {
		if dev == nil {
			continue
		}
		s := api.GPUSample{Index: i, Time: now}
		switch mw, ret := dev.GetPowerUsage(); ret {
		case nvml.SUCCESS:
			s.PowerW = float64(mw) / 1000
		case nvml.ERROR_NOT_SUPPORTED:
		default:
			continue
		}
		if u, ret := dev.GetUtilizationRates(); ret == nvml.SUCCESS {
			s.Utilization = float64(u.Gpu)
		}
		if m, ret := dev.GetMemoryInfo(); ret == nvml.SUCCESS {
			s.MemUsedMiB = float64(m.Used) / mib
		}
		if c, ret := dev.GetTemperature(nvml.TEMPERATURE_GPU); ret == nvml.SUCCESS {
			s.TempC = float64(c)
		}
		out = append(out, s)
	}
	return out
}

// PowerLimits implements Devices.
func (d *nvmlDevices) PowerLimits() []int {
	devs := d.handles()
	out := make([]int, len(devs))
	for i, dev := range devs {
		if dev == nil {
			continue
		}
		if mw, ret := dev.GetPowerManagementLimit(); ret == nvml.SUCCESS {
			out[i] = int(mw / 1000)
		}
	}
	return out
}

// SetPowerLimit implements Devices.
func (d *nvmlDevices) SetPowerLimit(index, watts int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if index < 0 || index >= len(d.devs) {
		return fmt.Errorf("gpu: %w: no GPU %d (the node has %d)", ErrPowerLimit, index, len(d.devs))
	}
	if d.devs[index] == nil || !d.read[index] {
		return fmt.Errorf("gpu: %w: GPU %d is down: %s", ErrPowerLimit, index, d.down[index])
	}
	info := d.info[index]
	if info.MinCapW <= 0 || info.MaxCapW < info.MinCapW {
		return fmt.Errorf("gpu: %w: GPU %d (%s) does not support power capping", ErrPowerLimit, index, info.Model)
	}
	if watts < info.MinCapW || watts > info.MaxCapW {
		return fmt.Errorf("gpu: %w: %d W for GPU %d (%s) is outside %d–%d W",
			ErrPowerLimit, watts, index, info.Model, info.MinCapW, info.MaxCapW)
	}
	if ret := d.devs[index].SetPowerManagementLimit(uint32(watts * 1000)); ret != nvml.SUCCESS {
		hint := ""
		if ret == nvml.ERROR_NO_PERMISSION {
			hint = " (setting a power limit needs root)"
		}
		return fmt.Errorf("gpu: set power limit of GPU %d to %d W: %w%s", index, watts, ret, hint)
	}
	d.info[index].PowerLimitW = watts
	return nil
}

// Close implements Devices: it shuts the library down.
func (d *nvmlDevices) Close() error {
	if ret := d.lib.Shutdown(); ret != nvml.SUCCESS && !errors.Is(ret, nvml.ERROR_UNINITIALIZED) {
		return fmt.Errorf("gpu: shut NVML down: %w", ret)
	}
	return nil
}

// OpenNVML opens the machine's NVIDIA management library.
func OpenNVML() (Devices, error) { return FromNVML(nvml.New()) }
