package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/carnot-dc/carnot/internal/api"
)

// metrics are the server's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg         *prometheus.Registry
	queue       *prometheus.GaugeVec
	held        *prometheus.GaugeVec // pending jobs held for their dependencies
	gpus        *prometheus.GaugeVec
	passSeconds prometheus.Histogram
	placements  prometheus.Counter
	submissions prometheus.Counter
	itPower     *prometheus.GaugeVec
	envelope    *prometheus.GaugeVec
	energy      *prometheus.CounterVec // kWh, deprecated
	joules      *prometheus.CounterVec
	unpriced    *prometheus.CounterVec // joules outside the grid series
	nodes       *prometheus.GaugeVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "carnot_queue_length",
			Help: "Pending jobs per tenant of the facility (0 when none), but those held for their dependencies (carnot_held_jobs)."}, []string{"tenant"}),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "carnot_held_jobs",
			Help: "Pending jobs per tenant of the facility held, out of the queue, until their dependencies (depends_on) are met (0 when none)."}, []string{"tenant"}),
		gpus: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "carnot_gpus",
			Help: "GPUs of the ready and draining nodes per site, model and state: used, free (idle on a node that takes work), unschedulable (idle on a draining, fenced or unreachable node, or down)."}, []string{"site", "model", "state"}),
		passSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "carnot_scheduling_pass_seconds",
			Help:    "Time the scheduling core took per pass.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)}),
		placements: prometheus.NewCounter(prometheus.CounterOpts{Name: "carnot_placements_total",
			Help: "Replicas placed by the scheduler."}),
		submissions: prometheus.NewCounter(prometheus.CounterOpts{Name: "carnot_submissions_total",
			Help: "Jobs accepted through the API."}),
		itPower: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "carnot_site_it_power_watts",
			Help: "Measured GPU power plus node base power per site."}, []string{"site"}),
		envelope: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "carnot_site_power_envelope_watts",
			Help: "The site's IT power envelope."}, []string{"site"}),
		energy: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carnot_energy_kwh_total",
			Help: "Facility energy in kWh per site; deprecated, carnot_energy_joules_total is the same in the base unit."}, []string{"site"}),
		joules: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carnot_energy_joules_total",
			Help: "Facility energy (IT energy measured on the GPUs × PUE) per site."}, []string{"site"}),
		unpriced: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carnot_energy_unpriced_joules_total",
			Help: "Facility energy per site drawn in hours that the site's grid series does not hold (all of it without a series): cost and carbon leave it out."}, []string{"site"}),
		nodes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "carnot_nodes",
			Help: "Nodes per site and condition (ready, draining, not-ready; a listed node whose agent has not registered is not-ready; 0 when none)."}, []string{"site", "condition"}),
	}
	m.reg.MustRegister(m.queue, m.held, m.gpus, m.passSeconds, m.placements, m.submissions, m.itPower, m.envelope, m.energy, m.joules, m.unpriced, m.nodes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(s.cfg.Collectors...)
	return m
}

// observe sets the gauges from the state as it is now. The metrics
// handler calls it before each scrape; caller holds mu.
func (s *Server) observe() {
	m := s.metrics
	m.queue.Reset()
	m.held.Reset()
	for _, t := range s.fac.Tenants {
		m.queue.WithLabelValues(t.Name) // 0, not absent, when nothing waits
		m.held.WithLabelValues(t.Name)
	}
	for _, js := range s.jobs {
		switch {
		case js.doc.State == api.StatePending && js.held:
			m.held.WithLabelValues(js.job.Tenant).Inc()
		case js.doc.State == api.StatePending:
			m.queue.WithLabelValues(js.job.Tenant).Inc()
		}
	}
	m.gpus.Reset()
	for _, n := range s.nodes {
		if n.node.GPUs == 0 {
			continue
		}
		for _, state := range gpuStates { // 0, not absent, for a model of a site with none free
			m.gpus.WithLabelValues(n.node.Site, n.node.GPUModel, state)
		}
		if !n.registered || n.doc.Condition == api.NodeNotReady {
			continue
		}
		u := min(s.nodeDoc(n).GPUsUsed, n.node.GPUs)
		m.gpus.WithLabelValues(n.node.Site, n.node.GPUModel, "used").Add(float64(u))
		idle := "free"
		if n.apiCondition() == api.NodeDraining || n.doc.Fenced || n.doc.Unreachable {
			idle = "unschedulable" // idle, but nothing new may start there
		}
		down := s.idleDown(n) // idle, but down: nothing may start on them
		if idle == "unschedulable" {
			down = 0
		}
		m.gpus.WithLabelValues(n.node.Site, n.node.GPUModel, idle).Add(float64(max(n.node.GPUs-u-down, 0)))
		m.gpus.WithLabelValues(n.node.Site, n.node.GPUModel, "unschedulable").Add(float64(down))
	}
	for _, st := range s.fac.Sites {
		m.envelope.WithLabelValues(st.ID).Set(st.PowerEnvelopeKW * 1000)
		// 0, not absent, until the site's GPUs report
		m.energy.WithLabelValues(st.ID)
		m.joules.WithLabelValues(st.ID)
		m.unpriced.WithLabelValues(st.ID)
	}
	s.observeNodes()
}

// gpuStates are the values of carnot_gpus' state label.
var gpuStates = []string{"used", "free", "unschedulable"}

// nodeConditions are the values of carnot_nodes' condition label.
var nodeConditions = []string{api.NodeReady, api.NodeDraining, api.NodeNotReady}

// observeNodes sets the node and power gauges: every site of the facility
// has each condition and its power, 0 when no node is in it, so that an
// alert on a series sees 0 rather than a series gone. Conditions are
// those of GET /v1/nodes (a drained node is draining, a listed node whose
// agent has not registered is not-ready). Caller holds mu.
func (s *Server) observeNodes() {
	m := s.metrics
	m.nodes.Reset()
	power := map[string]float64{}
	for _, st := range s.fac.Sites {
		for _, c := range nodeConditions {
			m.nodes.WithLabelValues(st.ID, c)
		}
		power[st.ID] = 0
	}
	for _, n := range s.nodes {
		if !n.registered { // listed, its agent not (yet) registered: not-ready, as GET /v1/nodes shows it
			m.nodes.WithLabelValues(n.node.Site, api.NodeNotReady).Inc()
			continue
		}
		m.nodes.WithLabelValues(n.doc.Site, n.apiCondition()).Inc()
		if n.doc.Condition == api.NodeNotReady {
			continue
		}
		p := n.node.BaseWatts
		for _, g := range n.doc.Telemetry {
			p += g.PowerW
		}
		power[n.doc.Site] += p
	}
	m.itPower.Reset()
	for site, p := range power {
		m.itPower.WithLabelValues(site).Set(p)
	}
}
