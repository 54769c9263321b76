package cli

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/carnot-dc/carnot/internal/server"
)

// replicaRoles are the values of carnot_replica_role's role label: the
// leader serves the control plane; a replica starting holds the lease
// and loads the state; a standby forwards the API to the leader.
var replicaRoles = []string{"leader", "starting", "standby"}

// role is r's role now, one of replicaRoles.
func (r *replica) role() string {
	switch {
	case r.cp.leading.Load():
		return "leader"
	case r.holdsLease():
		return "starting"
	}
	return "standby"
}

// exportMetrics makes every replica export its role, carnot_replica_role
// (1 for its role, 0 for the others), and a standby serve its own
// /metrics: its role and its process's (Go runtime, CPU, memory, file
// descriptors), to the principals that may read the leader's. The
// control plane's series (queue, GPUs, nodes, power, energy, passes) are
// the leader's only: the state they count is the leader's, and a
// standby that exported them (as it did, forwarding /metrics to the
// leader) would count them once more per replica under a sum.
func (r *replica) exportMetrics() error {
	var roles []prometheus.Collector
	for _, role := range replicaRoles {
		roles = append(roles, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "carnot_replica_role",
			Help:        "This replica's role: leader, starting (it holds the lease and loads the state) or standby; 1 for its role, 0 for the others.",
			ConstLabels: prometheus.Labels{"role": role},
		}, func() float64 {
			if r.role() == role {
				return 1
			}
			return 0
		}))
	}
	r.cp.cfg.Collectors = roles // the leader's server exports them too
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(roles...)
	h, err := server.MetricsHandler(r.cp.cfg, reg)
	if err != nil {
		return err
	}
	r.metrics = h
	return nil
}
