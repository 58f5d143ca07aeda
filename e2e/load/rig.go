// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package load

import (
	"context"
	"fmt"
	"maps"

	"github.com/openidentityagent/oia/e2e/rig"
	"github.com/openidentityagent/oia/host/protocol"
)

// Rig defaults: the simulator's single-role user, so that a login is the
// common case (no role prompt), and an allowed origin.
const (
	RigUID    = "555000333444"
	RigName   = "John Doe"
	RigPIN    = "123456"
	RigOrigin = "https://spine.nhs.uk"
)

// RigOptions describe a [Rig].
type RigOptions struct {
	// Dir holds the card. It must exist.
	Dir string
	// ModulePath is the virtual card module (vcard.ModulePath).
	ModulePath string
	// UID is the card holder; default RigUID.
	UID string
}

// Rig is the virtual card and the broker simulator of e2e/rig, with the
// load tests' defaults: a card holder with one role, so a login needs no
// role choice.
type Rig struct{ *rig.Rig }

// NewRig starts the broker simulator on loopback and makes a card.
func NewRig(o RigOptions) (*Rig, error) {
	name := RigName
	if o.UID == "" {
		o.UID = RigUID
	} else if o.UID != RigUID {
		name = "OIA Load Tester"
	}
	r, err := rig.Start(rig.Options{Dir: o.Dir, ModulePath: o.ModulePath, UID: o.UID, Name: name})
	if err != nil {
		return nil, err
	}
	return &Rig{r}, nil
}

// Config returns a fresh host configuration for the rig: the card module,
// the simulator with its test root, a fast card poll, and no prompt on
// insertion, so that the driver decides when a login starts.
func (r *Rig) Config() map[string]any {
	c := maps.Clone(r.Rig.Config)
	delete(c, "logFile")
	c["promptOnCardInsert"] = false
	c["logLevel"] = "info"
	return c
}

// Env is what a host process needs to find the card.
func (r *Rig) Env() []string { return []string{r.Card.Env()} }

// WaitCard waits until the host has read the card, after which a ticket
// request starts a login: its hello says so when the agent had read the
// card before the host attached, else its cardInserted event does.
func WaitCard(ctx context.Context, h *Host) error {
	f, ok := h.Hello()
	if !ok {
		var err error
		if f, err = h.Next(ctx, "hello", func(f protocol.Frame) bool { return f.Type == "hello" }); err != nil {
			return err
		}
	}
	if f.State != "" && f.State != protocol.StateNoCard {
		return nil
	}
	_, err := h.Event(ctx, protocol.EvCardInserted)
	return err
}

// Login asks for a ticket for origin and answers the host's prompts as the
// extension's window would: the passcode once, and the first role if asked.
// A second passcode prompt is an error: the passcode is never retried. It
// returns the ticket request's result.
func Login(ctx context.Context, h *Host, origin, pin string) (protocol.Frame, error) {
	h.Drop()
	id, err := h.Send(map[string]any{"type": "getTicket", "origin": origin})
	if err != nil {
		return protocol.Frame{}, err
	}
	sentPIN := false
	for {
		f, err := h.Next(ctx, "login of "+id, func(f protocol.Frame) bool {
			return (f.Type == "result" && f.ID == id) || (f.Type == "event" && (f.Event == protocol.EvPINRequired || f.Event == protocol.EvRoleRequired))
		})
		if err != nil {
			return f, err
		}
		switch {
		case f.Type == "result":
			return f, nil
		case f.Event == protocol.EvPINRequired:
			if sentPIN {
				return f, fmt.Errorf("the host asked for the passcode again (lastError %s, %d attempts left); not retrying", f.LastError, f.AttemptsLeft)
			}
			sentPIN = true
			if _, err := h.Send(map[string]any{"type": "pin", "pin": pin}); err != nil {
				return f, err
			}
		case f.Event == protocol.EvRoleRequired:
			if len(f.Roles) == 0 {
				return f, fmt.Errorf("a role prompt without roles")
			}
			if _, err := h.Send(map[string]any{"type": "selectRole", "roleId": f.Roles[0].ID}); err != nil {
				return f, err
			}
		}
	}
}

// Logout destroys the ticket and waits for the answer.
func Logout(ctx context.Context, h *Host, origin string) error {
	r, err := h.Call(ctx, map[string]any{"type": "destroyTicket", "origin": origin})
	if err != nil {
		return err
	}
	if !r.OK {
		return fmt.Errorf("destroyTicket: %+v", r.Error)
	}
	return nil
}
