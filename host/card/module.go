// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/pkcs11"
	"github.com/openidentityagent/oia/host/protocol"
)

// p11 is the part of *pkcs11.Ctx the package uses, so that unit tests can
// put a fake behind it (the integration tests use real modules).
type p11 interface {
	Initialize(opts ...pkcs11.InitializeOption) error
	Finalize() error
	Destroy()
	GetInfo() (pkcs11.Info, error)
	GetSlotList(tokenPresent bool) ([]uint, error)
	GetSlotInfo(slotID uint) (pkcs11.SlotInfo, error)
	GetTokenInfo(slotID uint) (pkcs11.TokenInfo, error)
	GetMechanismList(slotID uint) ([]*pkcs11.Mechanism, error)
	OpenSession(slotID uint, flags uint) (pkcs11.SessionHandle, error)
	CloseSession(sh pkcs11.SessionHandle) error
	Login(sh pkcs11.SessionHandle, userType uint, pin string) error
	Logout(sh pkcs11.SessionHandle) error
	FindObjectsInit(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) error
	FindObjects(sh pkcs11.SessionHandle, max int) ([]pkcs11.ObjectHandle, bool, error)
	FindObjectsFinal(sh pkcs11.SessionHandle) error
	GetAttributeValue(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, a []*pkcs11.Attribute) ([]*pkcs11.Attribute, error)
	SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error
	Sign(sh pkcs11.SessionHandle, message []byte) ([]byte, error)
}

var _ p11 = (*pkcs11.Ctx)(nil)

// loader loads a module file; tests replace it.
type loader func(path string) (p11, error)

// loadLibrary loads a real module with miekg/pkcs11, which gives no reason
// when it fails: diagnose finds one.
func loadLibrary(path string) (p11, error) {
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, diagnose(path)
	}
	return ctx, nil
}

// Module is a loaded, initialised PKCS#11 module. Get one with [Open].
type Module struct {
	path string

	// mu is held for reading around every call into ctx and for writing
	// while the module is finalised (Close, reinitialise).
	mu sync.RWMutex
	// serial serialises every call when the module cannot lock itself or
	// runs without locks (unlocked).
	serial sync.Mutex
	noLock bool
	// unlocked: the module is initialised with C_Initialize(NULL_PTR), so
	// it takes no locks of its own (OpenSC: see openSCUnlocked).
	unlocked bool
	ctx      p11
	info     pkcs11.Info
	// gen is bumped by each re-initialisation (under mu); sessions remember
	// theirs. Atomic so that generation never waits for a re-initialisation
	// in progress (a dead p11-kit remote can hold mu for seconds).
	gen    atomic.Uint64
	up     bool // C_Initialize succeeded and Finalize has not been called
	shared bool // C_Initialize found the module initialised by someone else
	closed bool
	refs   int  // under registry.mu
	lost   bool // under mu (write) or lostMu
	lostMu sync.Mutex
}

// registry holds the modules loaded by this process, keyed by clean path:
// PKCS#11 allows one C_Initialize per module per process.
var registry = struct {
	mu sync.Mutex
	m  map[string]*Module
}{m: map[string]*Module{}}

// Open loads and initialises the PKCS#11 module at path, or returns the one
// this process already opened there (each Open needs its own Close).
//
// A module that cannot be used gives a *protocol.Error with code
// MODULE_LOAD_FAILED whose cause names the path and the reason.
func Open(path string) (*Module, error) {
	return open(path, loadLibrary)
}

func open(path string, load loader) (*Module, error) {
	if path == "" {
		return nil, loadFailed(path, errors.New("no module path is configured: set pkcs11Module, or run 'oia doctor'"))
	}
	key, err := filepath.Abs(path)
	if err != nil {
		return nil, loadFailed(path, err)
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if m := registry.m[key]; m != nil {
		m.refs++
		return m, nil
	}
	fi, err := os.Stat(key)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, loadFailed(key, errors.New("the file does not exist: install the smartcard middleware or correct the module path"))
	case err != nil:
		return nil, loadFailed(key, fmt.Errorf("%w: check the file's permissions", err))
	case fi.IsDir():
		return nil, loadFailed(key, errors.New("it is a directory: give the path of the module's shared library"))
	}
	ctx, err := load(key)
	if err != nil {
		return nil, loadFailed(key, err)
	}
	m := &Module{path: key, ctx: ctx, refs: 1}
	m.gen.Store(1) // generation 0 means any, in call
	if err := m.initialize(); err != nil {
		ctx.Destroy()
		return nil, loadFailed(key, err)
	}
	if info, err := ctx.GetInfo(); err == nil {
		m.info = info
	}
	if !m.shared && isOpenSC(m.info) {
		if err := m.openSCUnlocked(); err != nil {
			ctx.Destroy()
			return nil, loadFailed(key, err)
		}
	}
	registry.m[key] = m
	return m, nil
}

// loadFailed is the MODULE_LOAD_FAILED error for path. The page sees only
// the code's default message; the cause, for the log and 'oia doctor',
// names the path.
func loadFailed(path string, why error) error {
	return protocol.Wrap(protocol.CodeModuleLoadFailed, fmt.Errorf("pkcs11 module %s: %w", path, why))
}

// initNull and logf are initializeNull and log.Printf; tests replace them.
var (
	initNull = initializeNull
	logf     = log.Printf
)

// initialize calls C_Initialize with OS locking, falling back to no
// locking (and serialised calls) when the module answers CKR_CANT_LOCK;
// an unlocked module (OpenSC) gets C_Initialize(NULL_PTR), or, when that
// fails, the locked initialisation with a warning (and stays locked). The
// caller holds mu for writing or owns m exclusively.
func (m *Module) initialize() error {
	var err error
	if m.unlocked {
		err = initNull(m.path)
		if err != nil && rvOf(err) != pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED {
			// Better a module with its own locks (and the wedge they risk)
			// than none.
			logf("card: pkcs11 module %s: initialising without locks failed (%v): initialising it with locks instead", m.path, err)
			m.unlocked, m.noLock = false, false
		}
	}
	if !m.unlocked {
		err = m.ctx.Initialize()
		if rvOf(err) == pkcs11.CKR_CANT_LOCK {
			m.noLock = true
			err = m.ctx.Initialize(pkcs11.InitializeWithFlags(0))
		}
	}
	m.shared = false
	switch rvOf(err) {
	case pkcs11.CKR_OK:
	case pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED:
		// Something else in this process initialised it (a test helper,
		// another library); it works, and our Finalize would not hurt it
		// more than its own.
		m.shared = true
	default:
		return fmt.Errorf("C_Initialize failed: %w: the middleware is installed but not working; see its documentation or run 'oia doctor'", err)
	}
	m.up = true
	return nil
}

// isOpenSC reports whether info (from C_GetInfo) is OpenSC's module.
func isOpenSC(info pkcs11.Info) bool {
	return info.ManufacturerID == "OpenSC Project"
}

// openSCUnlocked initialises OpenSC again with C_Initialize(NULL_PTR): no
// locks inside the module, every call serialised here instead. OpenSC takes
// its one global lock in every C_ function anyway (src/pkcs11/*.c,
// sc_pkcs11_lock), so this costs no concurrency. With locks, a card pulled
// while OpenSC takes the card's lock wedges the module for good: in OpenSC
// 0.23 (Debian 12), sc_lock (src/libopensc/card.c) whose driver hook
// card_reader_lock_obtained fails (the PIV driver's SELECT to a card that
// just left) drops lock_count back and still returns success, and the
// caller's sc_unlock then finds lock_count < 1 and returns without
// releasing card->mutex; the next sc_lock (the next C_GetTokenInfo, from
// sc_pkcs15_get_pin_info) waits on it for ever, holding OpenSC's global
// lock, so every later call into the module waits too. OpenSC 0.24 fixed
// sc_lock (upstream commit d449feeda, issue OpenSC#2707); sc_unlock's
// early return with the mutex held is still there. Without locks the
// mutex is a no-op and the unbalanced unlock is harmless (docs/card.md).
// The caller owns m exclusively and the module was initialised by m.
func (m *Module) openSCUnlocked() error {
	if err := m.ctx.Finalize(); err != nil {
		return fmt.Errorf("C_Finalize before initialising without locks: %w", err)
	}
	m.up = false
	m.unlocked, m.noLock = true, true
	return m.initialize()
}

// Path returns the absolute path the module was loaded from.
func (m *Module) Path() string { return m.path }

// Description returns the module's manufacturer and library description
// from C_GetInfo, for logs and 'oia doctor'.
func (m *Module) Description() string {
	return fmt.Sprintf("%s %s %d.%d (cryptoki %d.%d)", m.info.ManufacturerID, m.info.LibraryDescription,
		m.info.LibraryVersion.Major, m.info.LibraryVersion.Minor,
		m.info.CryptokiVersion.Major, m.info.CryptokiVersion.Minor)
}

// Close releases this user's hold on the module; the last Close finalises
// it. Sessions of the module must be closed first; a watcher using it must
// have stopped.
func (m *Module) Close() error {
	registry.mu.Lock()
	m.refs--
	last := m.refs == 0
	if last {
		delete(registry.m, m.path)
	}
	registry.mu.Unlock()
	if !last {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	var err error
	if m.up {
		err = m.ctx.Finalize()
		m.up = false
	}
	m.ctx.Destroy()
	if err != nil {
		return protocol.Wrap(protocol.CodeCardError, fmt.Errorf("C_Finalize %s: %w", m.path, err))
	}
	return nil
}

// call runs f with the module held for reading, or returns CARD_REMOVED
// when the module is closed, down, or re-initialised since generation gen
// (gen 0 accepts any generation). Errors from f are mapped by op.
func (m *Module) call(gen uint64, op string, f func(p p11) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	switch {
	case m.closed:
		return protocol.Errorf(protocol.CodeCardRemoved, "the smartcard middleware was closed: %w", errors.New(op+" after Close"))
	case !m.up:
		return protocol.Wrap(protocol.CodeCardRemoved, fmt.Errorf("%s: module %s is not initialised", op, m.path))
	case gen != 0 && gen != m.gen.Load():
		return protocol.Wrap(protocol.CodeCardRemoved, fmt.Errorf("%s: module %s was re-initialised since the session opened", op, m.path))
	}
	if m.noLock {
		m.serial.Lock()
		defer m.serial.Unlock()
	}
	err := f(m.ctx)
	if rv := rvOf(err); rv != 0 && moduleLost(op, rv) {
		m.lostMu.Lock()
		m.lost = true
		m.lostMu.Unlock()
	}
	return wrap(op, err)
}

// generation returns the current generation, without waiting for a
// re-initialisation in progress.
func (m *Module) generation() uint64 {
	return m.gen.Load()
}

// needsReinit reports whether a call saw the module lose its device.
func (m *Module) needsReinit() bool {
	m.lostMu.Lock()
	defer m.lostMu.Unlock()
	return m.lost
}

// Reinitialize finalises and initialises the module again, so that it sees
// tokens that appeared since (SoftHSM, p11-kit-client after a reconnect).
// Every open session of the module becomes invalid. It does not wait for
// calls in progress: when one is running it returns false and does nothing.
func (m *Module) Reinitialize() (bool, error) {
	return m.reinitializeFrom(0)
}

// reinitializeFrom is [Module.Reinitialize] that does nothing (and returns
// false) when the module was re-initialised since generation gen (0: any),
// so that two callers who saw the same lost module re-initialise it once.
func (m *Module) reinitializeFrom(gen uint64) (bool, error) {
	if !m.mu.TryLock() {
		return false, nil
	}
	defer m.mu.Unlock()
	if gen != 0 && gen != m.gen.Load() {
		return false, nil
	}
	if m.closed {
		return false, protocol.Errorf(protocol.CodeCardError, "the smartcard middleware is closed")
	}
	if m.up {
		_ = m.ctx.Finalize() // a dead remote answers errors here; it is finalised anyway
		m.up = false
	}
	m.gen.Add(1)
	m.lostMu.Lock()
	m.lost = true // until a scan finds it healthy
	m.lostMu.Unlock()
	if err := m.initialize(); err != nil {
		return true, protocol.Wrap(protocol.CodeCardRemoved, fmt.Errorf("re-initialise %s: %w", m.path, err))
	}
	return true, nil
}

// recover re-initialises a module that lost its device, once for the
// generation gen its caller saw lost, and reports the tokens a scan then
// finds. The module stays marked lost until a scan after a
// re-initialisation finds a token (p11-kit-client reconnects only in
// C_Initialize, so a module whose device is still away is re-initialised
// on every try). done is false when nothing was re-initialised here: a
// call is in progress, or another caller did it first.
func (m *Module) recover(gen uint64) (toks []Token, done bool, err error) {
	if done, _ = m.reinitializeFrom(gen); !done {
		return nil, false, nil
	}
	toks, _, err = m.scan()
	if err == nil && len(toks) > 0 {
		m.clearLost()
	}
	return toks, true, err
}

// Tokens lists the initialised tokens present in the module's slots.
// Uninitialised tokens (SoftHSM's spare slot, blank cards) are skipped, and
// so is a token that vanishes while being listed.
func (m *Module) Tokens() ([]Token, error) {
	toks, _, err := m.scan()
	return toks, err
}

// scan lists tokens and reports whether the module looked lost (a device
// error from the module itself).
func (m *Module) scan() ([]Token, bool, error) {
	return m.scanReusing(nil)
}

// scanReusing is scan that takes the token of a present slot from known,
// when it gives one, instead of reading it with C_GetTokenInfo (which costs
// card commands through OpenSC): for slots whose reader saw no change.
func (m *Module) scanReusing(known func(slot uint) (Token, bool)) ([]Token, bool, error) {
	var slots []uint
	err := m.call(0, opGetSlotList, func(p p11) (err error) {
		slots, err = p.GetSlotList(true)
		return err
	})
	if err != nil {
		return nil, m.needsReinit() || protocol.CodeOf(err) == protocol.CodeCardRemoved, err
	}
	toks := make([]Token, 0, len(slots))
	for _, slot := range slots {
		if known != nil {
			if t, ok := known(slot); ok {
				toks = append(toks, t)
				continue
			}
		}
		t, err := m.token(0, slot)
		if err != nil {
			continue // gone between the calls; a lost module is flagged by call
		}
		if t != nil {
			toks = append(toks, *t)
		}
	}
	lost := m.needsReinit()
	if !lost {
		return toks, false, nil
	}
	return toks, true, nil
}

// token reads the token in slot, or nil when it is not initialised.
func (m *Module) token(gen uint64, slot uint) (*Token, error) {
	var ti pkcs11.TokenInfo
	err := m.call(gen, opGetTokenInfo, func(p p11) (err error) {
		ti, err = p.GetTokenInfo(slot)
		return err
	})
	if err != nil {
		return nil, err
	}
	if ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
		return nil, nil
	}
	return &Token{
		ModulePath:   m.path,
		Slot:         slot,
		Label:        ti.Label,
		Serial:       ti.SerialNumber,
		Manufacturer: ti.ManufacturerID,
		Model:        ti.Model,
	}, nil
}

// slot is a slot of a module as C_GetSlotInfo describes it.
type slot struct {
	id          uint
	description string
	present     bool // CKF_TOKEN_PRESENT
}

// slots lists every slot of the module, with or without a token. It asks
// the module only (C_GetSlotList, C_GetSlotInfo): through OpenSC it sends
// the card no command.
func (m *Module) slots() ([]slot, error) {
	var out []slot
	err := m.call(0, opGetSlotList, func(p p11) error {
		ids, err := p.GetSlotList(false)
		if err != nil {
			return err
		}
		for _, id := range ids {
			si, err := p.GetSlotInfo(id)
			if err != nil {
				continue // gone between the calls (a reader unplugged)
			}
			out = append(out, slot{id: id, description: strings.TrimRight(si.SlotDescription, " "), present: si.Flags&pkcs11.CKF_TOKEN_PRESENT != 0})
		}
		return nil
	})
	return out, err
}

// clearLost marks the module healthy after a scan that worked.
func (m *Module) clearLost() {
	m.lostMu.Lock()
	m.lost = false
	m.lostMu.Unlock()
}

// moduleFor returns the open module loaded from path.
func moduleFor(path string) (*Module, error) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if m := registry.m[path]; m != nil {
		return m, nil
	}
	return nil, protocol.Wrap(protocol.CodeCardRemoved, fmt.Errorf("pkcs11 module %s is not open", path))
}
