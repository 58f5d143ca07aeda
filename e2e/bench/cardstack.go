// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/load"
	"github.com/openidentityagent/oia/e2e/pivcard"
	"github.com/openidentityagent/oia/e2e/rig"
	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/card/pcsc"
	"github.com/openidentityagent/oia/host/protocol"
)

// cardStackFigures is the names of the figures measured through pcscd and
// OpenSC, each reported unavailable (with the reason) when the stack
// cannot run here.
var cardStackFigures = []struct{ name, unit, target string }{
	{"idle_apdus_per_min", "/min", "0"},
	{"login_opensc_ms", "ms", ""},
	{"broker_roundtrip_ms", "ms", ""},
	{"removal_to_logout_ms", "ms", "≤ broker round trip + 100"},
	{"removal_seen_to_logout_ms", "ms", "≤ broker round trip + 100"},
	{"insert_to_prompt_ms", "ms", ""},
}

// cardStack measures oia-host (and its agent) through the real card
// stack: OpenSC's module, a private pcscd with vsmartcard's reader and the
// virtual PIV card of e2e/pivcard, which counts every APDU. The card holds
// the rig's user, so the rig's simulator logs it in.
func cardStack(ctx context.Context, o Options, r *load.Rig, rep *Report) {
	if err := measureCardStack(ctx, o, r, rep); err != nil {
		have := map[string]bool{}
		for _, f := range rep.Figures {
			have[f.Name] = true
		}
		for _, f := range cardStackFigures {
			if !have[f.name] {
				rep.Figures = append(rep.Figures, Figure{Name: f.name, Unit: f.unit, Target: f.target, NA: true, Note: err.Error()})
			}
		}
	}
}

func measureCardStack(ctx context.Context, o Options, r *load.Rig, rep *Report) error {
	relay := o.PIVCardBinary
	if _, err := os.Stat(relay); relay == "" || err != nil {
		if relay, err = rig.Binary("oia-pivcard"); err != nil {
			return err
		}
	}
	stack, err := pivcard.Start(ctx, relay)
	if err != nil {
		return fmt.Errorf("the card stack: %w", err)
	}
	defer stack.Close()
	user, err := rig.SharedUser(load.RigUID, load.RigName)
	if err != nil {
		return err
	}
	card, err := pivcard.New(user.Cert, user.Key, r.PIN)
	if err != nil {
		return err
	}
	start := func(prompt bool) (*load.Host, error) {
		dir, err := os.MkdirTemp(o.Dir, "opensc")
		if err != nil {
			return nil, err
		}
		cfg := hostConfig(r)
		cfg["pkcs11Modules"] = []string{stack.Module}
		cfg["promptOnCardInsert"] = prompt
		return load.Start(load.Options{Binary: o.HostBinary, Dir: dir, Config: cfg, Env: append(r.Env(), stack.Env()...)})
	}

	// The card sits in the reader and nobody logs in.
	stack.Reader.Insert(card)
	h, err := start(false)
	if err != nil {
		return err
	}
	defer h.Close(3 * time.Second)
	if err := load.WaitCard(ctx, h); err != nil {
		return fmt.Errorf("the host did not see the PIV card: %w", err)
	}
	if err := quiet(ctx, stack.Reader, 2*time.Second); err != nil {
		return err
	}
	n0 := stack.Reader.Count()
	if err := sleep(ctx, o.Idle); err != nil {
		return err
	}
	n := stack.Reader.Count() - n0
	perMin := float64(n) / o.Idle.Minutes()
	rep.add("idle_apdus_per_min", perMin, "/min", "0", le(perMin, 0),
		fmt.Sprintf("%d APDUs reached the card in %v with it in the reader and no login (the polling watcher sent 240 a minute)", n, o.Idle))

	// Logins through OpenSC, beside logins through liboia-vcard.
	var logins []time.Duration
	for i := range o.CardLogins + 1 {
		t0 := time.Now()
		res, err := load.Login(ctx, h, load.RigOrigin, r.PIN)
		d := time.Since(t0)
		if err != nil || !res.OK {
			return fmt.Errorf("login through OpenSC: %v %+v", err, res.Error)
		}
		if err := load.Logout(ctx, h, load.RigOrigin); err != nil {
			return err
		}
		if i > 0 { // the first warms OpenSC's caches
			logins = append(logins, d)
		}
	}
	lm := ms(median(logins))
	note := fmt.Sprintf("getTicket to ticket through oia-host, OpenSC, pcscd and the PIV card, median of %d", len(logins))
	if v, ok := rep.value("login_host_ms"); ok {
		note += fmt.Sprintf("; through liboia-vcard %.1f ms (login_host_ms), %.1fx", v, lm/v)
	}
	rep.add("login_opensc_ms", lm, "ms", "", nil, note)

	// The simulator's own round trip, then removal to the broker's logout.
	rt, err := brokerRoundtrip(ctx, r)
	if err != nil {
		return err
	}
	rep.add("broker_roundtrip_ms", ms(rt), "ms", "", nil, "authactivate from this process to the simulator, median of 20")
	// This process watches the reader too, to split the removal's time
	// into pcscd noticing (its poll of vpcd, every 400 ms) and the host.
	watch, werr := watchReader(stack)
	if watch != nil {
		defer watch.close()
	}
	var removals, afterSeen []time.Duration
	for range o.Removals {
		if res, err := load.Login(ctx, h, load.RigOrigin, r.PIN); err != nil || !res.OK {
			return fmt.Errorf("login before removal: %v %+v", err, res.Error)
		}
		var seen <-chan time.Time
		if watch != nil {
			seen = watch.nextChange()
		}
		t0 := time.Now()
		stack.Reader.Remove()
		at, err := logoutAfter(ctx, r.Sim, t0)
		if err != nil {
			return err
		}
		removals = append(removals, at.Sub(t0))
		if seen != nil {
			if ts := <-seen; !ts.IsZero() {
				afterSeen = append(afterSeen, at.Sub(ts))
			}
		}
		if _, err := waitEvent(ctx, h, protocol.EvCardRemoved); err != nil {
			return err
		}
		stack.Reader.Insert(card)
		if _, err := waitEvent(ctx, h, protocol.EvCardInserted); err != nil {
			return err
		}
		if err := quiet(ctx, stack.Reader, time.Second); err != nil {
			return err
		}
	}
	rm, worst := ms(median(removals)), ms(percentile(removals, 100))
	rep.add("removal_to_logout_ms", rm, "ms", "≤ broker round trip + 100", le(rm, ms(rt)+100),
		fmt.Sprintf("card out of the reader to the simulator receiving authlogout, median of %d (worst %.0f ms); limit %.0f ms", len(removals), worst, ms(rt)+100))
	if len(afterSeen) == len(removals) {
		sm := ms(median(afterSeen))
		rep.add("removal_seen_to_logout_ms", sm, "ms", "≤ broker round trip + 100", le(sm, ms(rt)+100),
			fmt.Sprintf("pcscd reporting the card gone (this process waiting in SCardGetStatusChange) to the simulator receiving authlogout, median of %d (worst %.0f ms): the host's part; the rest is pcscd's poll of vpcd", len(afterSeen), ms(percentile(afterSeen, 100))))
	} else {
		note := "this process could not watch the reader"
		if werr != nil {
			note += ": " + werr.Error()
		}
		rep.Figures = append(rep.Figures, Figure{Name: "removal_seen_to_logout_ms", Unit: "ms", NA: true, Note: note})
	}

	// The card leaves before the next host starts, and the host sees it
	// go: a card put back within one of pcscd's polls of vpcd (400 ms) is
	// never seen to leave, and its link is dead.
	stack.Reader.Remove()
	if _, err := waitEvent(ctx, h, protocol.EvCardRemoved); err != nil {
		return err
	}
	_ = h.Close(3 * time.Second)

	// Insertion to the passcode prompt, with the prompt on insertion on.
	h2, err := start(true)
	if err != nil {
		return err
	}
	defer h2.Close(3 * time.Second)
	if _, ok := h2.Hello(); !ok {
		if _, err := h2.Next(ctx, "hello", func(f protocol.Frame) bool { return f.Type == "hello" }); err != nil {
			return err
		}
	}
	var prompts []time.Duration
	for range o.Removals {
		h2.Drop()
		t0 := time.Now()
		stack.Reader.Insert(card)
		if _, err := waitEvent(ctx, h2, protocol.EvPINRequired); err != nil {
			return fmt.Errorf("no passcode prompt after insertion: %w", err)
		}
		prompts = append(prompts, time.Since(t0))
		stack.Reader.Remove()
		if _, err := waitEvent(ctx, h2, protocol.EvCardRemoved); err != nil {
			return err
		}
	}
	rep.add("insert_to_prompt_ms", ms(median(prompts)), "ms", "", nil,
		fmt.Sprintf("card into the reader to pinRequired (pcscd's poll of the reader, OpenSC binding the card, the host reading it), median of %d (worst %.0f ms)", len(prompts), ms(percentile(prompts, 100))))
	return nil
}

// waitEvent waits up to 20 s for the host's event name.
func waitEvent(ctx context.Context, h *load.Host, name protocol.EventName) (protocol.Frame, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return h.Event(ctx, name)
}

// quiet waits until the card has received no APDU for d (the host and
// OpenSC finished reading a card that was just inserted), for at most 30 s.
func quiet(ctx context.Context, r *pivcard.Reader, d time.Duration) error {
	deadline := time.Now().Add(30 * time.Second)
	last, since := r.Count(), time.Now()
	for time.Since(since) < d {
		if time.Now().After(deadline) {
			return errors.New("the card kept receiving APDUs for 30 s after insertion")
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
		if n := r.Count(); n != last {
			last, since = n, time.Now()
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// logoutAfter waits for the simulator to log a ticket destroyed at or
// after t0 and returns when the request arrived.
func logoutAfter(ctx context.Context, sim *brokersim.Server, t0 time.Time) (time.Time, error) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range sim.Log() {
			if e.Endpoint == brokersim.EndpointLogout && !e.Time.Before(t0) && e.Outcome == "ticket destroyed" {
				return e.Time, nil
			}
		}
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			return time.Time{}, err
		}
	}
	return time.Time{}, errors.New("the simulator received no logout within 10 s of the card leaving")
}

// brokerRoundtrip is the median of 20 authactivate calls to the simulator
// over one kept-alive connection, after one to open it.
func brokerRoundtrip(ctx context.Context, r *load.Rig) (time.Duration, error) {
	base, err := url.Parse(r.Sim.URL())
	if err != nil {
		return 0, err
	}
	bc, err := broker.New(broker.Options{BaseURL: base, CABundle: r.Sim.CAFile()})
	if err != nil {
		return 0, err
	}
	var ts []time.Duration
	for i := range 21 {
		t0 := time.Now()
		if _, err := bc.Activate(ctx); err != nil {
			return 0, err
		}
		if i > 0 {
			ts = append(ts, time.Since(t0))
		}
	}
	return median(ts), nil
}

// value returns a figure measured earlier in the run.
func (r *Report) value(name string) (float64, bool) {
	for _, f := range r.Figures {
		if f.Name == name && !f.NA {
			return f.Value, true
		}
	}
	return 0, false
}

// readerWatch times the changes of the stack's first reader from this
// process, through PC/SC.
type readerWatch struct {
	pc     *pcsc.Context
	reader string
	done   chan struct{} // closed when nextChange's goroutine returned; nil before the first
}

// watchReader connects this process to the stack's pcscd. libpcsclite
// reads the socket's name once per process: the bench process uses PC/SC
// for this alone.
func watchReader(stack *pivcard.Stack) (*readerWatch, error) {
	if err := os.Setenv("PCSCLITE_CSOCK_NAME", stack.Socket); err != nil {
		return nil, err
	}
	pc, err := pcsc.Establish()
	if err != nil {
		return nil, err
	}
	readers, err := pc.Readers()
	if err != nil || len(readers) == 0 {
		_ = pc.Release()
		return nil, fmt.Errorf("no reader listed: %v", err)
	}
	return &readerWatch{pc: pc, reader: readers[0]}, nil
}

// nextChange reads the reader's state now and returns a channel that gets
// the time the card is next seen gone (zero after 10 s without).
func (w *readerWatch) nextChange() <-chan time.Time {
	out := make(chan time.Time, 1)
	rs := []pcsc.ReaderState{{Reader: w.reader}}
	if err := w.pc.GetStatusChange(rs, 0); err != nil {
		out <- time.Time{}
		return out
	}
	rs[0].Current = rs[0].Event &^ pcsc.Changed
	done := make(chan struct{})
	w.done = done
	go func() {
		defer close(done)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if err := w.pc.GetStatusChange(rs, time.Until(deadline)); err != nil {
				break
			}
			if !rs[0].Event.Present() {
				out <- time.Now()
				return
			}
			rs[0].Current = rs[0].Event &^ pcsc.Changed // flags only: wait on
		}
		out <- time.Time{}
	}()
	return out
}

// close ends nextChange's wait (pcsc.CancelUntil) and releases the
// context once the wait has returned. The goroutine's own deadline (10 s)
// ends the wait well within closeWithin; should it not, the context is
// left open rather than released under the call.
func (w *readerWatch) close() {
	if w.done != nil && !pcsc.CancelUntil(w.pc, w.done, 50*time.Millisecond, closeWithin) {
		return
	}
	_ = w.pc.Release()
}

// closeWithin bounds close's wait for nextChange's goroutine.
const closeWithin = time.Minute
