// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"context"
	"fmt"
	"log"
	"sort"
	"time"
)

// DefaultRetryReaders is how often, by default, a [Watcher] whose PC/SC
// failed (pcscd stopped or restarted) tries to connect to it again.
const DefaultRetryReaders = 30 * time.Second

// DefaultInterval is how often a [Watcher] polls, by default, the modules
// that PC/SC cannot watch.
const DefaultInterval = 500 * time.Millisecond

// EventKind says what happened to a card.
type EventKind int

// The kinds of [Event].
const (
	// Inserted: a card appeared in a slot (also reported, once, for each
	// card present when the watcher starts).
	Inserted EventKind = iota + 1
	// Removed: the card left its slot, or its module stopped answering.
	Removed
	// Swapped: another card is in the slot (a different serial or label)
	// since the last poll; Token is the new card.
	Swapped
)

func (k EventKind) String() string {
	switch k {
	case Inserted:
		return "inserted"
	case Removed:
		return "removed"
	case Swapped:
		return "swapped"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a change in the cards present. For Removed, Token is the card
// that left.
type Event struct {
	Kind  EventKind
	Token Token
}

// Ticker is the clock a [Watcher] polls on: C delivers ticks and Stop
// releases it. [time.Ticker] is one; tests drive a channel.
type Ticker interface {
	Chan() <-chan time.Time
	Stop()
}

type realTicker struct{ *time.Ticker }

func (t realTicker) Chan() <-chan time.Time { return t.C }

// Watcher reports cards coming and going in the slots of its modules.
//
// A module whose slots are PC/SC readers (OpenSC, most vendor modules) is
// not polled: [Watcher.Run] waits in PC/SC's SCardGetStatusChange, which
// sends the card nothing, and asks the module (C_GetSlotList,
// C_GetTokenInfo) only when a reader's card changed. pcsc-lite counts
// insertions and removals per reader, so a card pulled and put back, or
// swapped, between two looks is reported as Removed (or Swapped) and never
// missed. Other modules (SoftHSM, p11-kit-client, the virtual card) are
// polled every interval. It never uses C_WaitForSlotEvent, which
// miekg/pkcs11 cannot report errors from and most modules do not implement
// (docs/card.md, "Presence").
type Watcher struct {
	modules  []*Module
	interval time.Duration
	// NewTicker makes the poll clock; tests replace it. It defaults to a
	// time.Ticker of the watcher's interval.
	NewTicker func(time.Duration) Ticker
	// OpenReaders connects Run to PC/SC; tests replace it. It defaults to
	// pcsc.Establish. When it fails, every module is polled.
	OpenReaders func() (ReaderSource, error)
	// RetryReaders is how often Run tries PC/SC again while it polls
	// because PC/SC failed or was not there (DefaultRetryReaders), on a
	// clock from NewRetryTicker (a time.Ticker by default; tests replace
	// it).
	RetryReaders   time.Duration
	NewRetryTicker func(time.Duration) Ticker
	// Logf logs what the watcher cannot report otherwise (a PC/SC wait
	// that would not end). It defaults to log.Printf.
	Logf func(format string, args ...any)

	cards map[slotKey]Token  // what the last look saw
	seen  map[slotKey]uint16 // PC/SC event count of the card's reader when it was read
}

type slotKey struct {
	path string
	slot uint
}

// NewWatcher returns a watcher over modules polling every interval
// (DefaultInterval when interval is not positive) those that PC/SC cannot
// watch.
func NewWatcher(modules []*Module, interval time.Duration) *Watcher {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Watcher{
		modules:        modules,
		interval:       interval,
		NewTicker:      func(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} },
		OpenReaders:    openPCSC,
		RetryReaders:   DefaultRetryReaders,
		NewRetryTicker: func(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} },
		Logf:           log.Printf,
		cards:          map[slotKey]Token{},
		seen:           map[slotKey]uint16{},
	}
}

// Run looks at every module at once, then sends each change to out until
// ctx is done: modules on PC/SC readers when a reader's card changes, the
// others on every tick. It does not close out. Run and Poll must not be
// called concurrently.
func (w *Watcher) Run(ctx context.Context, out chan<- Event) {
	send := func(evs []Event) bool {
		for _, ev := range evs {
			select {
			case out <- ev:
			case <-ctx.Done():
				return false
			}
		}
		return true
	}
	// The readers' states are read before the first look, so that a
	// change during it wakes the first wait.
	rw := w.openReaders()
	defer func() {
		if rw != nil {
			rw.close()
		}
	}()
	// While there is no PC/SC, every module is polled and PC/SC is tried
	// again every RetryReaders (pcscd restarted, or socket-activated
	// late), so that the agent does not send cards commands for the rest
	// of its life.
	var retry Ticker
	retryLater := func() {
		if retry == nil && w.OpenReaders != nil && w.NewRetryTicker != nil && w.RetryReaders > 0 {
			retry = w.NewRetryTicker(w.RetryReaders)
		}
	}
	defer func() {
		if retry != nil {
			retry.Stop()
		}
	}()
	if rw == nil {
		retryLater()
	}
	if !send(w.Poll()) {
		return
	}
	if rw != nil {
		rw.classify(w)
		rw.recordSeen(w, w.modules)
	}
	t := w.NewTicker(w.interval)
	defer t.Stop()
	for {
		var wake <-chan waitResult
		if rw != nil {
			wake = rw.wait()
		}
		var again <-chan time.Time
		if retry != nil {
			again = retry.Chan()
		}
		select {
		case <-t.Chan():
			if !send(w.update(rw.polled(w.modules), nil, nil)) {
				return
			}
		case r := <-wake:
			evs, ok := rw.changed(w, r)
			if !ok { // PC/SC failed: poll every module until it is back
				rw.close()
				rw = nil
				evs = w.Poll()
				retryLater()
			}
			if !send(evs) {
				return
			}
		case <-again:
			if rw = w.openReaders(); rw == nil {
				continue // still none
			}
			retry.Stop()
			retry = nil
			// As at the start: the states first, then a look at every
			// module, then which of them PC/SC watches.
			evs := w.Poll()
			rw.classify(w)
			rw.recordSeen(w, w.modules)
			if !send(evs) {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// Poll looks at every module once and returns what changed since the last
// look: removals first, then swaps, then insertions, each ordered by module
// and slot.
//
// A module that lost its device (its calls failed with CKR_DEVICE_ERROR or
// the like) is re-initialised, and stays marked until a re-initialisation
// finds a token, so that it is re-initialised on every poll until the
// device comes back (p11-kit-client reconnects only in C_Initialize). While
// a call into the module is in progress (a PIN pad waiting for the keypad)
// the re-initialisation waits for a later poll.
func (w *Watcher) Poll() []Event {
	return w.update(w.modules, nil, nil)
}

// update looks at modules and returns what changed in their slots. known,
// when not nil, gives a module's slot whose card is known unchanged (it is
// then not read again); cameBack reports a card that is the same as before
// but left its slot in between (it is reported Removed, then Inserted).
func (w *Watcher) update(modules []*Module, known func(m *Module, slot uint) (Token, bool), cameBack func(k slotKey) bool) []Event {
	now := map[slotKey]Token{}
	scope := map[string]bool{}
	for _, m := range modules {
		scope[m.path] = true
		var reuse func(uint) (Token, bool)
		if known != nil {
			reuse = func(slot uint) (Token, bool) { return known(m, slot) }
		}
		for _, t := range w.scanModule(m, reuse) {
			now[slotKey{t.ModulePath, t.Slot}] = t
		}
	}
	var removed, swapped, inserted []Event
	for k, old := range w.cards {
		if !scope[k.path] {
			continue
		}
		t, ok := now[k]
		switch {
		case !ok:
			removed = append(removed, Event{Removed, old})
			delete(w.cards, k)
		case !t.sameCard(old):
			swapped = append(swapped, Event{Swapped, t})
		case cameBack != nil && cameBack(k):
			removed = append(removed, Event{Removed, old})
			inserted = append(inserted, Event{Inserted, t})
		}
	}
	for k, t := range now {
		if _, ok := w.cards[k]; !ok {
			inserted = append(inserted, Event{Inserted, t})
		}
		w.cards[k] = t
	}
	var evs []Event
	for _, group := range [][]Event{removed, swapped, inserted} {
		sort.Slice(group, func(i, j int) bool {
			a, b := group[i].Token, group[j].Token
			if a.ModulePath != b.ModulePath {
				return a.ModulePath < b.ModulePath
			}
			return a.Slot < b.Slot
		})
		evs = append(evs, group...)
	}
	return evs
}

// scanModule lists m's tokens, re-initialising m when it lost its device;
// a module that cannot be read has no tokens.
func (w *Watcher) scanModule(m *Module, known func(slot uint) (Token, bool)) []Token {
	gen := m.generation()
	toks, lost, err := m.scanReusing(known)
	if lost {
		if again, done, rerr := m.recover(gen); done {
			toks, err = again, rerr
		} else if m.generation() != gen {
			toks, _, err = m.scan() // another caller re-initialised it
		}
	}
	if err != nil {
		return nil // nothing readable: every card of the module is gone
	}
	return toks
}
