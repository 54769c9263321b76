package server

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/secrets"
	"github.com/carnot-dc/carnot/internal/store"
)

// Config is the server's configuration; New fills in defaults.
type Config struct {
	// Facility is the facility the server schedules. Nodes it lists take
	// their place in its topology when their agents register; other
	// nodes may join a site it lists (DynamicNodes).
	Facility *model.Facility
	// DynamicNodes lets agents of nodes the facility does not list join
	// one of its sites, each in a rack of its own.
	DynamicNodes bool
	Store        store.Store
	// Grid holds hourly price and carbon series by zone, for the cost
	// and carbon of energy and for deferral. Optional.
	Grid []model.GridSeries

	Heartbeat        time.Duration // agents' heartbeat interval (default 1 s)
	HeartbeatTimeout time.Duration // silence before a node is not-ready (default 10 s)
	// StopAfterDisconnect, when above zero, makes agents stop their tasks
	// once they have not reached the server for this long (sent to them
	// at registration), and makes the server wait for that before it
	// counts a silent node's replicas lost: this long after the node's
	// last heartbeat, plus the tasks' grace and a margin. The next attempt
	// of a job whose node was cut off then starts only once the agent has
	// stopped the last one, so a partition no longer runs a replica twice.
	// It must be at least HeartbeatTimeout; 0 (the default) leaves tasks
	// running through any loss of the server, and the server counts the
	// replicas lost at HeartbeatTimeout.
	StopAfterDisconnect time.Duration
	// KillTimeout is the grace a cancelled or failed job's replicas get
	// between SIGTERM and SIGKILL when the job has no checkpoint_grace
	// (default 5 s).
	KillTimeout time.Duration
	// PassInterval is the longest time between two scheduling passes
	// (default 5 s); events trigger passes sooner.
	PassInterval time.Duration
	// PassDepth bounds the passes that events trigger to the first
	// PassDepth jobs of the queue (sched.Quick, as Slurm's main scheduler
	// does between backfill cycles; default 256). A full pass over every
	// pending job runs at least every FullPassEvery (default 5 s).
	PassDepth     int
	FullPassEvery time.Duration
	// PassGap is the least time between the end of a pass that
	// considered many jobs (32) and the start of the next (default
	// 10 ms): under a burst of submissions, passes take many jobs each
	// instead of one.
	PassGap time.Duration
	// MaxBodyBytes limits request bodies (default 1 MiB).
	MaxBodyBytes int64
	// MaxWatches limits the watch streams (GET /v1/watch) open at once
	// for one tenant, all its tokens together, and for each
	// facility-wide token (default 64): each holds a buffer of events.
	MaxWatches int
	// MaxFollows limits, in the same way, the followed logs (GET
	// /v1/jobs/{id}/logs?follow=true) open at once (default 64): each
	// holds a connection to a node's agent.
	MaxFollows int

	// AuditSigner signs the audit log's checkpoints (note.NewSigner of a
	// key from `carnot audit keygen`); without one the audit routes
	// answer 503.
	AuditSigner note.Signer
	// AuditWitness is a file where the server keeps the latest audit
	// checkpoint it signed (carnot server: DATA-DIR/audit.last), outside
	// the database: a log found not to extend it after a start (an event
	// edited in the database, a database restored from an older backup)
	// is logged and recorded in the log before anything else is signed.
	// "" keeps none.
	AuditWitness string

	// AuditRetention is how long audit entries are kept at least
	// (default and minimum MinAuditRetention). Carnot deletes no audit
	// entry today, so every entry is kept; the setting bounds any future
	// pruning. A value below the minimum needs AuditRetentionOverride, a
	// reason, which is recorded in the audit log at every start.
	AuditRetention         time.Duration
	AuditRetentionOverride string

	// TokenKey keys the hashes of API tokens (at least 32 bytes; every
	// replica of a deployment needs the same). Required. New tokens and
	// the agents' logs tokens are made under it.
	TokenKey []byte
	// PreviousTokenKeys are keys the tokens made under them still
	// authenticate with (a deliberate rotation: the new key in TokenKey,
	// the old one here until its tokens are replaced); no token is made
	// under them.
	PreviousTokenKeys [][]byte
	// CA, when set, signs the certificates of nodes that enroll with a
	// join token (POST /v1/agent/enroll); NodeCertTTL is their life
	// (default 90 days).
	CA          NodeSigner
	NodeCertTTL time.Duration
	// Secrets wraps the data keys of tenant secrets (envelope
	// encryption; a key file or a KMS). Without it the secret routes
	// answer 503.
	Secrets secrets.KeyWrapper

	// Collectors are exported on /metrics beside the server's own (a
	// replica's role: the process that runs the server exports them
	// whether it leads or not).
	Collectors []prometheus.Collector

	// Leader is the lease this server runs under in a highly available
	// control plane (nil for a single server): the server records each
	// new one as a leader event, so the log says who led when.
	Leader *Leadership

	Logger *slog.Logger
	// Now is the wall clock; tests may replace it.
	Now func() time.Time
	// CertNow is the clock a node's certificate is checked against at
	// each request, as crypto/tls checked it at the handshake (its
	// tls.Config.Time); nil: time.Now. Tests may replace it.
	CertNow func() time.Time
}

func (c *Config) defaults() error {
	if c.Facility == nil {
		return errors.New("server: no facility")
	}
	if c.Store == nil {
		return errors.New("server: no store")
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = 10 * time.Second
	}
	if c.HeartbeatTimeout < 2*c.Heartbeat {
		return fmt.Errorf("server: heartbeat timeout %s is under twice the heartbeat interval %s: every node would be taken for silent between its heartbeats, or at one late, and its work lost; use at least %s",
			c.HeartbeatTimeout, c.Heartbeat, 2*c.Heartbeat)
	}
	if c.KillTimeout <= 0 {
		c.KillTimeout = 5 * time.Second
	}
	if c.StopAfterDisconnect < 0 || c.StopAfterDisconnect > 0 && c.StopAfterDisconnect < c.HeartbeatTimeout {
		return fmt.Errorf("server: stop after disconnect %s is below the heartbeat timeout %s: agents would stop their work before the server notices they are gone; use 0 (off) or at least %s",
			c.StopAfterDisconnect, c.HeartbeatTimeout, c.HeartbeatTimeout)
	}
	if c.PassInterval <= 0 {
		c.PassInterval = 5 * time.Second
	}
	if c.PassDepth <= 0 {
		c.PassDepth = 256
	}
	if c.FullPassEvery <= 0 {
		c.FullPassEvery = 5 * time.Second
	}
	if c.PassGap <= 0 {
		c.PassGap = 10 * time.Millisecond
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxFollows <= 0 {
		c.MaxFollows = 64
	}
	if c.MaxWatches <= 0 {
		c.MaxWatches = 64
	}
	if c.AuditRetention == 0 {
		c.AuditRetention = MinAuditRetention
	}
	if c.AuditRetention < MinAuditRetention && c.AuditRetentionOverride == "" {
		return fmt.Errorf("server: audit retention %s is below the %d-day minimum: give an override with its reason (--audit-retention-override), which the audit log records",
			c.AuditRetention, int(MinAuditRetention.Hours()/24))
	}
	for i, k := range c.PreviousTokenKeys {
		if len(k) < 32 {
			return fmt.Errorf("server: previous token key %d (Config.PreviousTokenKeys): need at least 32 bytes", i+1)
		}
	}
	if len(c.TokenKey) < 32 {
		return errors.New("server: no token key (Config.TokenKey, at least 32 bytes)")
	}
	if c.NodeCertTTL <= 0 {
		c.NodeCertTTL = 90 * 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.CertNow == nil {
		c.CertNow = time.Now
	}
	return nil
}

// MinAuditRetention is the shortest audit retention allowed without an
// explicit override: 180 days.
const MinAuditRetention = 180 * 24 * time.Hour

// NodeSigner signs a node's certificate request, binding the node to its
// site (pki.CA implements it).
type NodeSigner interface {
	SignNode(csrPEM []byte, site, node string, ttl time.Duration) ([]byte, error)
	CertPEM() []byte
}

// DevFacility is the facility of a server without a facility file (named
// dev; carnot server names it carnot): one site with the given ID in
// country, no nodes until agents register (the server runs with
// DynamicNodes), a tenant "default" and the default policy without
// quotas.
func DevFacility(site, country string) *model.Facility {
	pol := model.DefaultPolicy()
	pol.Quotas = false
	return &model.Facility{
		Name:      "dev",
		GPUModels: facility.Catalog(),
		Sites: []model.Site{{
			ID: site, Name: "this machine", Country: country, Operator: "local",
			Jurisdictions:   facility.DefaultJurisdictions(country),
			PowerEnvelopeKW: 100, PUE: 1.2, GridZone: country,
		}},
		Halls:           []model.Hall{{ID: site + "-hall", Site: site, Cooling: model.CoolingAir}},
		Tenants:         []model.Tenant{{Name: DefaultTenant, FairShareWeight: 1}},
		PriorityClasses: facility.DefaultClasses(),
		Policy:          pol,
	}
}
