package jobspec

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkLoadJSONL loads 100,000 JSONL jobs against a facility.
func BenchmarkLoadJSONL(b *testing.B) {
	var buf bytes.Buffer
	for i := range 100_000 {
		fmt.Fprintf(&buf, `{"id":"j%07d","tenant":"eu-lab","priority_class":"low","replicas":2,"gpus":8,"gpu_model":["H100"],"cpus":96,"memory_gib":900,"preemptible":true,"checkpoint_grace":300,"runtime_limit":14400,"jurisdictions":["FR"],"data_class":"internal","topology":{"level":"nvlink","required":false},"submit_time":%d,"command":["torchrun","train.py"]}`+"\n", i, 1767225600+i)
	}
	fac := testFacility()
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load("bench.jsonl", buf.Bytes(), fac); err != nil {
			b.Fatal(err)
		}
	}
}
