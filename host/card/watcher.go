// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// DefaultInterval is how often a [Watcher] polls by default.
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

// Watcher polls modules for cards coming and going. It never uses
// C_WaitForSlotEvent, which miekg/pkcs11 cannot report errors from and
// most modules do not implement (docs/card.md).
type Watcher struct {
	modules  []*Module
	interval time.Duration
	// NewTicker makes the poll clock; tests replace it. It defaults to a
	// time.Ticker of the watcher's interval.
	NewTicker func(time.Duration) Ticker

	cards map[slotKey]Token // what the last poll saw
}

type slotKey struct {
	path string
	slot uint
}

// NewWatcher returns a watcher over modules polling every interval
// (DefaultInterval when interval is not positive).
func NewWatcher(modules []*Module, interval time.Duration) *Watcher {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Watcher{
		modules:   modules,
		interval:  interval,
		NewTicker: func(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} },
		cards:     map[slotKey]Token{},
	}
}

// Run polls at once and then on every tick, sending each change to out,
// until ctx is done. It does not close out. Run and Poll must not be called
// concurrently.
func (w *Watcher) Run(ctx context.Context, out chan<- Event) {
	t := w.NewTicker(w.interval)
	defer t.Stop()
	for {
		for _, ev := range w.Poll() {
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-t.Chan():
		case <-ctx.Done():
			return
		}
	}
}

// Poll looks at every module once and returns what changed since the last
// poll: removals first, then swaps, then insertions, each ordered by module
// and slot.
//
// A module that lost its device (its calls failed with CKR_DEVICE_ERROR or
// the like) is re-initialised, and stays marked until a re-initialisation
// finds a token, so that it is re-initialised on every poll until the
// device comes back (p11-kit-client reconnects only in C_Initialize). While
// a call into the module is in progress (a PIN pad waiting for the keypad)
// the re-initialisation waits for a later poll.
func (w *Watcher) Poll() []Event {
	now := map[slotKey]Token{}
	for _, m := range w.modules {
		gen := m.generation()
		toks, lost, err := m.scan()
		if lost {
			if again, done, rerr := m.recover(gen); done {
				toks, err = again, rerr
			} else if m.generation() != gen {
				toks, _, err = m.scan() // another caller re-initialised it
			}
		}
		if err != nil {
			continue // nothing readable: every card of the module is gone
		}
		for _, t := range toks {
			now[slotKey{t.ModulePath, t.Slot}] = t
		}
	}
	var removed, swapped, inserted []Event
	for k, old := range w.cards {
		t, ok := now[k]
		switch {
		case !ok:
			removed = append(removed, Event{Removed, old})
		case !t.sameCard(old):
			swapped = append(swapped, Event{Swapped, t})
		}
	}
	for k, t := range now {
		if _, ok := w.cards[k]; !ok {
			inserted = append(inserted, Event{Inserted, t})
		}
	}
	w.cards = now
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
