package server

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// Leadership is the leader lease a server of a highly available control
// plane runs under (Config.Leader).
type Leadership struct {
	Holder  string `json:"holder"`  // the lease's holder: the replica's name and process
	Address string `json:"address"` // the leader's operator API, as the lease names it
	Epoch   int64  `json:"epoch"`   // the lease's fencing token
}

const (
	// recLeader is the kind of the record of the last leadership
	// recorded (key leaderKey): a leadership of another epoch is new.
	recLeader = "leader"
	leaderKey = "lease"
	// actorLease is the actor of leader events.
	actorLease = "server:lease"
)

// recordLeader records a leadership the store has not seen, with the one
// before it: one leader event per epoch, so a reload of the state under
// the same lease (a failed commit) records none. The event and the record
// are written together, under the lease's fence, so a deposed leader
// writes neither.
func (s *Server) recordLeader(ctx context.Context) error {
	l := s.cfg.Leader
	if l == nil {
		return nil
	}
	last, found, err := startRecord[Leadership](ctx, s, recLeader, leaderKey, "the last leader recorded")
	if err != nil {
		return err
	}
	if found && last.Epoch == l.Epoch {
		return nil
	}
	msg := fmt.Sprintf("%s leads the control plane at epoch %d", l.Holder, l.Epoch)
	if l.Address != "" {
		msg += fmt.Sprintf(", operator API %s", l.Address)
	}
	if found {
		msg += fmt.Sprintf("; %s led before it, at epoch %d", last.Holder, last.Epoch)
	} else {
		msg += "; the first leader recorded"
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	ev := api.Event{Time: s.cfg.Now().UTC(), Type: api.EventLeader, Actor: actorLease, Message: clip(msg)}
	if err := s.putRecords(ctx, []store.Record{{Kind: recLeader, Key: leaderKey, Doc: b}}, []api.Event{ev}); err != nil {
		return fmt.Errorf("server: recording this leader: %w", err)
	}
	s.log.Info("leader recorded", "holder", l.Holder, "epoch", l.Epoch)
	return nil
}
