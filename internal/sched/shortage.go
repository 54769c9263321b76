package sched

import (
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/sched/place"
)

// A capacity reason says what is short. Usually it is the GPUs, and the
// count of usable free ones says so. When there are enough free GPUs, or
// the replicas ask for none, the reason reads the nodes (place.Room):
// the GPUs may lie in pieces too small for a replica, or the nodes with
// them may lack the CPUs or memory the replica asks for.

// shortage is what the eligible nodes of a failed request offer its
// replicas, read once for its verdict; it words the reason for the
// request and for those that recall the verdict (no smaller in any
// size, on no more free room: so "at most").
type shortage struct {
	gpus  int  // GPUs per replica of the request the room was read for
	read  bool // room was read: the request asked for no GPUs, or they were free
	room  place.Room
	fit   int    // replicas that fit on the eligible nodes (Result.Fit)
	model string // the GPU model's name, place.CPUOnly for GPU-less nodes
}

// shortage reads the room of r's eligible nodes when the reason needs it.
func (p *pass) shortage(r *place.Request, res *place.Result) shortage {
	sh := shortage{gpus: r.GPUs, fit: res.Fit, model: p.modelName(r.Model)}
	if r.GPUs == 0 || res.FreeGPUs >= r.Replicas*r.GPUs {
		sh.room, sh.read = p.c.RoomFor(r), true
	}
	return sh
}

// shortageFor is sh, or, when r recalls a verdict whose room was read
// for replicas of other GPUs (or not read: the GPUs were short), the
// room of r's eligible nodes read now; no more replicas fit r than the
// smaller request of the verdict.
func (p *pass) shortageFor(r *place.Request, sh *shortage) *shortage {
	if sh.read && sh.gpus == r.GPUs {
		return sh
	}
	return &shortage{gpus: r.GPUs, read: true, room: p.c.RoomFor(r), fit: sh.fit, model: sh.model}
}

// noGPUs words the reason of r, whose replicas ask for CPUs and memory
// only: "64 CPUs and 256 GiB; eligible GPU-less nodes have at most 32
// CPUs and 256 GiB free".
func (sh *shortage) noGPUs(r *place.Request, where string) string {
	need := amounts(r, r.CPUs, r.Mem)
	if r.Replicas > 1 {
		need = fmt.Sprintf("%d replicas of %s", r.Replicas, need)
	}
	kind := nodeKind(sh.model)
	if !sh.read || sh.room.Nodes == 0 {
		return fmt.Sprintf("%s%s; no eligible %s node", need, where, kind)
	}
	return need + where + "; " + sh.words(r, "eligible "+kind+" nodes")
}

// besideGPUs words the reason of r, whose GPUs are free in number on
// the eligible nodes (free): they are in pieces too small for a replica,
// or the nodes with them lack CPUs or memory. sh's room was read for r's
// GPUs (shortageFor).
func (sh *shortage) besideGPUs(r *place.Request, where string, free int) string {
	msg := func(with string) string {
		return fmt.Sprintf("capacity: needs %s %s%s%s; %d usable free on eligible nodes",
			shape(r.Replicas, r.GPUs), sh.model, with, where, free)
	}
	switch {
	case sh.room.GPUFit < r.Replicas && r.Replicas == 1:
		return msg("") + fmt.Sprintf(", but at most %d on one node", sh.room.GPUs)
	case sh.room.GPUFit < r.Replicas:
		return msg("") + fmt.Sprintf(", but split across nodes: only %d replica(s) of %d fit", sh.room.GPUFit, r.GPUs)
	case r.CPUs <= 0 && r.Mem <= 0:
		// nothing but the GPUs to be short of: the room has changed
		// since the failure this reason explains
		return msg("") + fmt.Sprintf(", but not %d together on a node", r.GPUs)
	}
	with := " with " + amounts(r, r.CPUs, r.Mem)
	if r.Replicas > 1 {
		with += " per replica"
	}
	return msg(with) + ", but " + sh.words(r, fmt.Sprintf("the nodes with %d free %s", r.GPUs, sh.model))
}

// words says what nodes (the eligible ones with a replica's GPUs) lack
// for r's replicas: CPUs or memory on every one, or both together on
// one, or room for all the replicas.
func (sh *shortage) words(r *place.Request, nodes string) string {
	rm := &sh.room
	switch {
	case rm.CPUs < r.CPUs || rm.Mem < r.Mem:
		return fmt.Sprintf("%s have at most %s free", nodes, amounts(r, rm.CPUs, rm.Mem))
	case r.Replicas == 1:
		return fmt.Sprintf("%s have at most %s free, not both on the same node", nodes, amounts(r, rm.CPUs, rm.Mem))
	}
	return fmt.Sprintf("%s have room for at most %d of the %d replicas", nodes, min(sh.fit, r.Replicas-1), r.Replicas)
}

// amounts names cpus CPUs and mem GiB, those of the two r asks for.
func amounts(r *place.Request, cpus, mem int) string {
	var parts []string
	if r.CPUs > 0 {
		parts = append(parts, fmt.Sprintf("%d CPUs", cpus))
	}
	if r.Mem > 0 {
		parts = append(parts, fmt.Sprintf("%d GiB", mem))
	}
	return strings.Join(parts, " and ")
}

// nodeKind names the nodes of a model in a reason: "H100", or
// "GPU-less" for the model of nodes without GPUs.
func nodeKind(model string) string {
	if model == place.CPUOnly {
		return "GPU-less"
	}
	return model
}
