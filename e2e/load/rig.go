// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package load

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/e2e/vcard"
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

// The PKI and the card holder's key are made once per process: each is an
// RSA key generation, slow under the race detector.
var (
	pkiOnce = sync.OnceValues(testpki.New)
	userMu  sync.Mutex
	users   = map[string]*testpki.User{}
)

// SharedPKI returns the process's test PKI.
func SharedPKI() (*testpki.PKI, error) { return pkiOnce() }

// SharedUser returns a certificate and key for uid from [SharedPKI], issued
// once per process.
func SharedUser(uid, name string) (*testpki.User, error) {
	pki, err := SharedPKI()
	if err != nil {
		return nil, err
	}
	userMu.Lock()
	defer userMu.Unlock()
	if u, ok := users[uid]; ok {
		return u, nil
	}
	u, err := pki.IssueUser(uid, name)
	if err != nil {
		return nil, err
	}
	users[uid] = u
	return u, nil
}

// RigOptions describe a [Rig].
type RigOptions struct {
	// Dir holds the card. It must exist.
	Dir string
	// ModulePath is the virtual card module (vcard.ModulePath).
	ModulePath string
	// UID is the card holder; default RigUID.
	UID string
}

// Rig is the virtual card and the broker simulator, sharing one PKI, and
// the host configuration that uses them.
type Rig struct {
	Sim  *brokersim.Server
	Card *vcard.Card
	// PIN is the card's passcode.
	PIN        string
	modulePath string
}

// NewRig starts the broker simulator on loopback and makes a card.
func NewRig(o RigOptions) (*Rig, error) {
	if o.UID == "" {
		o.UID = RigUID
	}
	pki, err := SharedPKI()
	if err != nil {
		return nil, err
	}
	name := RigName
	if o.UID != RigUID {
		name = "OIA Load Tester"
	}
	user, err := SharedUser(o.UID, name)
	if err != nil {
		return nil, err
	}
	sim, err := brokersim.New(brokersim.Options{AdminAddr: "off", PKI: pki})
	if err != nil {
		return nil, err
	}
	if err := sim.Start(); err != nil {
		return nil, err
	}
	c, err := vcard.Init(filepath.Join(o.Dir, "card"), vcard.InitOptions{PIN: RigPIN, User: user})
	if err != nil {
		_ = sim.Close()
		return nil, err
	}
	return &Rig{Sim: sim, Card: c, PIN: RigPIN, modulePath: o.ModulePath}, nil
}

// Close stops the simulator.
func (r *Rig) Close() error { return r.Sim.Close() }

// Config returns a fresh host configuration for the rig: the card module,
// the simulator with its test root, a fast card poll, and no prompt on
// insertion, so that the driver decides when a login starts.
func (r *Rig) Config() map[string]any {
	return map[string]any{
		"pkcs11Modules":        []string{r.modulePath},
		"brokerURL":            r.Sim.URL(),
		"caBundle":             r.Sim.CAFile(),
		"cardPollMilliseconds": 100,
		"promptOnCardInsert":   false,
		"logLevel":             "info",
	}
}

// Env is what a host process needs to find the card.
func (r *Rig) Env() []string { return []string{r.Card.Env()} }

// WaitCard waits until the host has read the card (its cardInserted event),
// after which a ticket request starts a login.
func WaitCard(ctx context.Context, h *Host) error {
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
