package gpu

import (
	"slices"
	"strings"

	"github.com/carnot-dc/carnot/internal/facility"
)

// ModelName maps an NVML device name ("NVIDIA H100 80GB HBM3",
// "NVIDIA A100-SXM4-80GB", "AMD Instinct MI300X") to the name of a model
// in facility.Catalog (H100, A100, MI300X), or "" when no catalog model
// matches. A word of the name must equal the model's name, so GB200 is
// never taken for B200. Board variants (PCIe, NVL) map to their family's
// entry; the power figures the agent reports come from NVML itself.
func ModelName(nvmlName string) string {
	words := strings.FieldsFunc(strings.ToUpper(nvmlName), func(r rune) bool {
		return r == ' ' || r == '-' || r == '_' || r == '/'
	})
	names := make([]string, 0, len(facility.Catalog()))
	for name := range facility.Catalog() {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, w := range words {
		for _, name := range names {
			if w == strings.ToUpper(name) {
				return name
			}
		}
	}
	return ""
}

// nvmlNames are the device names the fake reports for catalog models, as
// the real driver spells them.
var nvmlNames = map[string]string{
	"A100":   "NVIDIA A100-SXM4-80GB",
	"H100":   "NVIDIA H100 80GB HBM3",
	"H200":   "NVIDIA H200 141GB HBM3e",
	"B200":   "NVIDIA B200 180GB HBM3e",
	"GB200":  "NVIDIA GB200",
	"GB300":  "NVIDIA GB300",
	"MI300X": "AMD Instinct MI300X",
}

// deviceName is the NVML name the fake gives a catalog model.
func deviceName(model, vendor string) string {
	if n, ok := nvmlNames[model]; ok {
		return n
	}
	if vendor == "amd" {
		return "AMD Instinct " + model
	}
	return "NVIDIA " + model
}
