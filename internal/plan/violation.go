package plan

import (
	"errors"
	"fmt"
	"strings"
)

// Code names the invariant a plan breaks.
type Code string

// Violation codes, one per invariant Verify checks.
const (
	CodeCoverage    Code = "coverage"     // a pending job missing from the plan or listed twice
	CodeUnknownJob  Code = "unknown-job"  // the plan names a job the snapshot lacks
	CodeRunning     Code = "running"      // a start of a job that already runs
	CodeNode        Code = "node"         // unknown node
	CodeCondition   Code = "condition"    // node draining or down
	CodeAvoided     Code = "avoided"      // node the snapshot says the job avoids (Snapshot.AvoidNodes)
	CodeGPU         Code = "gpu"          // GPU index out of range or repeated
	CodeGPUConflict Code = "gpu-conflict" // GPU already held
	CodeGang        Code = "gang"         // wrong replica or GPU count
	CodeModel       Code = "model"        // GPU model not accepted by the job
	CodeCPU         Code = "cpu"          // node CPUs exceeded
	CodeMemory      Code = "memory"       // node memory exceeded
	CodeSovereignty Code = "sovereignty"  // site outside the allowed jurisdictions
	CodeDirty       Code = "dirty"        // dirty GPU given to another tenant (or any tenant, when no LastTenant)
	CodeGPUDown     Code = "gpu-down"     // GPU its node's agent reports down (GPUState.Down)
	CodeClaimed     Code = "claimed"      // GPU claimed by another pending job
	CodeExclusive   Code = "exclusive"    // exclusive job or tenant shares a node
	CodePower       Code = "power"        // site, hall or rack power exceeded
	CodePowerCap    Code = "power-cap"    // power cap (of a start or a recap) outside the model's range
	CodeRecap       Code = "recap"        // recap of a job not running, or terminating, started or preempted; twice; policy off; lowers a cap below a replica's own, or changes none
	CodeQuota       Code = "quota"        // start takes a tenant beyond its available quota
	CodeTopology    Code = "topology"     // gang outside one group of its required level
	CodeSiteSpan    Code = "site-span"    // gang across sites without topology "any"
	CodeGangModel   Code = "gang-model"   // gang across GPU models
	CodePreemption  Code = "preemption"   // bad victim or notice times
	CodeVictim      Code = "victim"       // victim neither of lower priority nor a reclaimable borrower
	CodeRateLimit   Code = "rate-limit"   // too many preemptions in the window
	CodeDeferral    Code = "deferral"     // deferral of a job not pending, or past the deadline
	CodeInflexible  Code = "inflexible"   // deferral of a job without a deadline or earliest start
	CodeDeferPast   Code = "defer-past"   // deferral until a time not after now
	CodeNotBefore   Code = "not-before"   // start before the job's earliest start
	CodeReservation Code = "reservation"  // reservation for a job that is not pending
	CodeEstStart    Code = "est-start"    // estimated start before now
)

// Violation is one broken invariant. Verify joins them with errors.Join;
// use Violations to get them back.
type Violation struct {
	Code Code
	Job  string // "" when not about one job
	Node string // "" when not about one node
	GPU  int    // -1 when not about one GPU
	Msg  string
}

func (v *Violation) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:", v.Code)
	if v.Job != "" {
		fmt.Fprintf(&b, " job %s:", v.Job)
	}
	if v.Node != "" {
		fmt.Fprintf(&b, " node %s:", v.Node)
	}
	if v.GPU >= 0 {
		fmt.Fprintf(&b, " gpu %d:", v.GPU)
	}
	b.WriteString(" ")
	b.WriteString(v.Msg)
	return b.String()
}

// Violations returns the violations in an error returned by Verify, in
// the order Verify found them.
func Violations(err error) []*Violation {
	if err == nil {
		return nil
	}
	var out []*Violation
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, Violations(e)...)
		}
		return out
	}
	var v *Violation
	if errors.As(err, &v) {
		out = append(out, v)
	}
	return out
}
