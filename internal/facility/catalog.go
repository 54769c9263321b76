package facility

import (
	"maps"

	"github.com/carnot-dc/carnot/internal/model"
)

// Source kinds follow ../shared/data/hardware.md: [P] primary (vendor
// datasheet, vendor MLPerf system file, measured NVML dumps), [S]
// secondary (press, spec aggregators), [M] inferred by us. Every [M]
// figure is an assumption a facility file may override in gpu_models.
//
// Memory is the vendor's per-GPU HBM figure taken as GiB (vendors quote
// HBM in binary units; the driver reports slightly less as usable).
// BF16 is dense (without 2:4 sparsity): vendors print the sparse figure,
// which is twice the dense one.

var catalog = map[string]model.GPUModel{
	// A100 SXM4 80 GB. Board power 400 W [S]; NVML cap range 100–400 W
	// [P]; idle 55 W [M] (hardware.md: ~50–60 W); BF16 312 TFLOP/s dense
	// [P] (NVIDIA A100 datasheet).
	"A100": {
		Name: "A100", Vendor: "nvidia", MemoryGiB: 80,
		TDPWatts: 400, IdleWatts: 55, MinCapWatts: 100, MaxCapWatts: 400,
		BF16TFLOPS: 312,
		Source:     "A100 SXM4 80GB: TDP 400 W [S], cap 100-400 W [P] NVML, idle ~55 W [M], BF16 312 [P] NVIDIA datasheet",
	},
	// H100 SXM5 80 GB. Board power 700 W [S]; NVML cap range 200–700 W
	// [P] (50 W is refused); idle 72 W [P] (~70–75 W at P0 measured);
	// BF16 989 TFLOP/s dense [P] (datasheet 1,979 with sparsity).
	"H100": {
		Name: "H100", Vendor: "nvidia", MemoryGiB: 80,
		TDPWatts: 700, IdleWatts: 72, MinCapWatts: 200, MaxCapWatts: 700,
		BF16TFLOPS: 989,
		Source:     "H100 SXM5 80GB: TDP 700 W [S], cap 200-700 W [P] NVML, idle ~72 W [P], BF16 989 dense [P] NVIDIA datasheet",
	},
	// H200 SXM 141 GB. Board power 700 W [P] (vendor MLPerf system file);
	// cap range 200–700 W [M] (same die as H100; not published); idle
	// 80 W [S]; BF16 989 TFLOP/s dense [P] (same compute as H100).
	"H200": {
		Name: "H200", Vendor: "nvidia", MemoryGiB: 141,
		TDPWatts: 700, IdleWatts: 80, MinCapWatts: 200, MaxCapWatts: 700,
		BF16TFLOPS: 989,
		Source:     "H200 SXM 141GB: TDP 700 W [P] MLPerf system file, cap 200-700 W [M] as H100, idle ~80 W [S], BF16 989 dense [P] NVIDIA datasheet",
	},
	// B200 (HGX) 180 GB. Board power 1,000 W [P] (MLPerf system file).
	// Cap range NOT PUBLISHED: assumed 300–1,000 W [M] (a floor near 30 %
	// of TDP, like Hopper's 200/700). Idle NOT PUBLISHED: assumed 100 W
	// [M] (about 10 % of TDP, like H100). BF16 2,250 TFLOP/s dense [S]
	// (HGX B200 spec, sparse figure halved).
	"B200": {
		Name: "B200", Vendor: "nvidia", MemoryGiB: 180,
		TDPWatts: 1000, IdleWatts: 100, MinCapWatts: 300, MaxCapWatts: 1000,
		BF16TFLOPS: 2250,
		Source:     "B200 HGX 180GB: TDP 1000 W [P] MLPerf system file, cap 300-1000 W [M] not published, idle 100 W [M] not published, BF16 2250 dense [S]",
	},
	// GB200, per GPU (a superchip is 1 Grace + 2 B200; Grace and the
	// tray's other parts belong in the node's base_watts). About 1.2 kW
	// per GPU [S] (~2.7 kW per superchip). Cap range NOT PUBLISHED:
	// assumed 400–1,200 W [M] (floor near a third of TDP). Idle NOT
	// PUBLISHED: assumed 120 W [M] (10 % of TDP). BF16 2,500 TFLOP/s dense
	// [S] (NVL72 rack spec 360 PFLOP/s sparse / 72 / 2). 186 GB [S] (13.4
	// TB per NVL72 rack / 72).
	"GB200": {
		Name: "GB200", Vendor: "nvidia", MemoryGiB: 186,
		TDPWatts: 1200, IdleWatts: 120, MinCapWatts: 400, MaxCapWatts: 1200,
		BF16TFLOPS: 2500,
		Source:     "GB200 per GPU: ~1200 W [S], cap 400-1200 W [M] not published, idle 120 W [M] not published, BF16 2500 dense [S], 186 GB [S]",
	},
	// GB300 (Blackwell Ultra), per GPU. hardware.md: treat as >= 1.2 kW
	// per GPU in NVL72 racks [M]; we use 1,400 W, the figure press and
	// spec aggregators give [S], which with the tray's Grace CPUs, NICs and
	// switch share puts an 18-tray NVL72 rack near the ~120–132 kW [S]
	// quoted for these racks. Cap range NOT PUBLISHED: assumed 400–1,400 W
	// [M]. Idle NOT PUBLISHED: assumed 140 W [M] (10 % of TDP). BF16 2,500
	// TFLOP/s dense [S]; 279 GB usable HBM3e [S] (288 GB raw).
	"GB300": {
		Name: "GB300", Vendor: "nvidia", MemoryGiB: 279,
		TDPWatts: 1400, IdleWatts: 140, MinCapWatts: 400, MaxCapWatts: 1400,
		BF16TFLOPS: 2500,
		Source:     "GB300 per GPU: 1400 W [S] (hardware.md >=1.2 kW [M]), cap 400-1400 W [M] not published, idle 140 W [M] not published, BF16 2500 dense [S], 279 GB [S]",
	},
	// MI300X 192 GB. Board power 750 W [S]. Capped through amd-smi, not
	// NVML, and the range is NOT PUBLISHED, so capping is left off
	// (MinCapWatts 0); a facility may set min_cap_watts to enable it.
	// Idle NOT PUBLISHED: assumed 90 W [M] (12 % of TDP). BF16 1,307
	// TFLOP/s dense [P] (AMD MI300X datasheet).
	"MI300X": {
		Name: "MI300X", Vendor: "amd", MemoryGiB: 192,
		TDPWatts: 750, IdleWatts: 90, MinCapWatts: 0, MaxCapWatts: 750,
		BF16TFLOPS: 1307,
		Source:     "MI300X 192GB: TDP 750 W [S], capping via amd-smi, range not published (off), idle 90 W [M] not published, BF16 1307 dense [P] AMD datasheet",
	},
}

// Catalog returns a copy of the built-in GPU catalog, keyed by model name.
// A facility file's gpu_models section adds models or overrides fields of
// these.
func Catalog() map[string]model.GPUModel {
	return maps.Clone(catalog)
}
