// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package brokersim is a Spine Security Broker simulator for tests and the
// demo: an HTTPS server that speaks the legacy CIS1 protocol as the real
// broker does (docs/broker.md; docs/references.md, "Broker wire format")
// closely enough that a client which passes against it has the best chance
// against the real one.
//
// It issues HMAC-signed, single-use, expiring challenges; checks the signed
// CMS response (signature over the challenge, chain to the test root, uid
// equal to the certificate's CN, a known user); issues OpenSSO-shaped
// tickets that expire, survive a restart when a state directory is given,
// and die at logout; answers role selection and SAML 1.1 role assertions.
// Faults (delay, HTTP 5xx, connection reset, truncated or malformed body, a
// TLS certificate from another authority) can be injected per endpoint, in
// process with [Server.SetFault] or over the admin HTTP endpoint.
//
// The command oia-broker-sim (e2e/cmd/oia-broker-sim) runs one.
package brokersim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/openidentityagent/oia/e2e/testpki"
)

// Defaults of [Options].
const (
	DefaultSessionTime  = 600 * time.Second // sso_session_time of the INT capture
	DefaultChallengeTTL = 120 * time.Second
)

// Options configure a [Server].
type Options struct {
	// Addr is the HTTPS listen address; default 127.0.0.1:0 (a free port).
	Addr string
	// AdminAddr is the admin HTTP listen address; default 127.0.0.1:0.
	// It must be a loopback address. "off" disables the admin endpoint.
	AdminAddr string
	// PKI is the test PKI to use. When nil, PKIDir is loaded or created
	// with testpki.LoadOrCreate; when PKIDir is empty too, <StateDir>/pki
	// is used, or else a fresh PKI in a temporary directory that Close
	// removes.
	PKI    *testpki.PKI
	PKIDir string
	// StateDir, when set, keeps the live tickets (tickets.json, holding
	// only hashes of tickets) and the request log (requests.jsonl).
	StateDir string
	// Users are the known users; nil means [DefaultUsers].
	Users []User
	// SessionTime is sso_session_time: a ticket dies after this long
	// unused. Default [DefaultSessionTime].
	SessionTime time.Duration
	// MaxSessionTime is sso_max_session_time: a ticket dies this long
	// after its login whatever its use. Default SessionTime.
	MaxSessionTime time.Duration
	// ChallengeTTL is how long a challenge can be redeemed. Default
	// [DefaultChallengeTTL].
	ChallengeTTL time.Duration
	// Faults are injected from the start.
	Faults []Fault
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ErrorLog receives the HTTP servers' own errors (TLS handshake
	// failures, …); nil discards them.
	ErrorLog *log.Logger
}

// Server is a running simulator. Its methods are safe for concurrent use.
type Server struct {
	opts     Options
	pki      *testpki.PKI
	caFile   string
	tempDir  string
	users    map[string]User
	userList []User
	now      func() time.Time

	cert tls.Certificate

	chals   *challenges
	tickets *ticketStore
	faults  faultSet
	log     *requestLog

	https, admin   *http.Server
	ln, adminLn    net.Listener
	url, adminURL  string
	started, close sync.Once
	wg             sync.WaitGroup
}

// New prepares a simulator: PKI, users, state. [Server.Start] listens.
func New(opts Options) (*Server, error) {
	s := &Server{opts: opts, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.SessionTime <= 0 {
		s.opts.SessionTime = DefaultSessionTime
	}
	if opts.MaxSessionTime <= 0 {
		s.opts.MaxSessionTime = s.opts.SessionTime
	}
	if opts.ChallengeTTL <= 0 {
		s.opts.ChallengeTTL = DefaultChallengeTTL
	}
	if s.opts.Addr == "" {
		s.opts.Addr = "127.0.0.1:0"
	}
	if s.opts.AdminAddr == "" {
		s.opts.AdminAddr = "127.0.0.1:0"
	}
	users := opts.Users
	if users == nil {
		users = DefaultUsers()
	}
	if err := checkUsers(users); err != nil {
		return nil, fmt.Errorf("brokersim: %w", err)
	}
	s.users = map[string]User{}
	s.userList = users
	for _, u := range users {
		s.users[u.UID] = u
	}
	for _, f := range opts.Faults {
		if err := f.check(); err != nil {
			return nil, fmt.Errorf("brokersim: %w", err)
		}
		s.faults.add(f)
	}
	if err := s.setupPKI(); err != nil {
		s.cleanup()
		return nil, err
	}
	var err error
	if s.chals, err = newChallenges(s.opts.ChallengeTTL); err != nil {
		s.cleanup()
		return nil, err
	}
	if opts.StateDir != "" {
		if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
			s.cleanup()
			return nil, fmt.Errorf("brokersim: state directory: %w", err)
		}
	}
	if s.tickets, err = newTicketStore(opts.StateDir, s.opts.SessionTime, s.opts.MaxSessionTime, s.now()); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("brokersim: %w", err)
	}
	logPath := ""
	if opts.StateDir != "" {
		logPath = filepath.Join(opts.StateDir, logFile)
	}
	if s.log, err = newRequestLog(logPath); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("brokersim: request log: %w", err)
	}
	return s, nil
}

func (s *Server) setupPKI() error {
	var err error
	dir := s.opts.PKIDir
	if dir == "" && s.opts.StateDir != "" {
		dir = filepath.Join(s.opts.StateDir, "pki")
	}
	switch {
	case s.opts.PKI != nil && dir != "":
		s.pki = s.opts.PKI
		if _, statErr := os.Stat(filepath.Join(dir, testpki.RootCertFile)); statErr != nil {
			if err := s.pki.Save(dir); err != nil {
				return fmt.Errorf("brokersim: saving the pki: %w", err)
			}
		}
		s.caFile = filepath.Join(dir, testpki.RootCertFile)
	case s.opts.PKI != nil:
		s.pki = s.opts.PKI
		if s.tempDir, err = os.MkdirTemp("", "oia-broker-sim-"); err != nil {
			return err
		}
		s.caFile = filepath.Join(s.tempDir, testpki.RootCertFile)
		if err := os.WriteFile(s.caFile, testpki.CertPEM(s.pki.Root.Cert), 0o644); err != nil {
			return err
		}
	default:
		if dir == "" {
			if s.tempDir, err = os.MkdirTemp("", "oia-broker-sim-"); err != nil {
				return err
			}
			dir = s.tempDir
		}
		if s.pki, err = testpki.LoadOrCreate(dir); err != nil {
			return fmt.Errorf("brokersim: pki in %s: %w", dir, err)
		}
		s.caFile = filepath.Join(dir, testpki.RootCertFile)
	}
	if s.cert, err = serverCert(s.pki); err != nil {
		return fmt.Errorf("brokersim: server certificate: %w", err)
	}
	return nil
}

// serverCerts caches one server certificate per PKI in the process: key
// generation is the slow part of starting a simulator, and tests start many.
var serverCerts sync.Map // *testpki.PKI -> tls.Certificate

func serverCert(p *testpki.PKI) (tls.Certificate, error) {
	if c, ok := serverCerts.Load(p); ok {
		return c.(tls.Certificate), nil
	}
	c, err := p.IssueServer("127.0.0.1", "localhost", "::1")
	if err != nil {
		return tls.Certificate{}, err
	}
	serverCerts.Store(p, c)
	return c, nil
}

// foreignCert is the certificate of the TLS fault: from an authority no
// client trusts, made once per process, when first needed.
var foreignCert = sync.OnceValues(func() (tls.Certificate, error) {
	other, err := testpki.New()
	if err != nil {
		return tls.Certificate{}, err
	}
	return other.IssueServer("127.0.0.1", "localhost", "::1")
})

// Start listens on Addr (and AdminAddr) and serves in the background. It
// may be called once.
func (s *Server) Start() error {
	err := errors.New("brokersim: already started")
	s.started.Do(func() { err = s.start() })
	return err
}

func (s *Server) start() error {
	errorLog := s.opts.ErrorLog
	if errorLog == nil {
		errorLog = log.New(io.Discard, "", 0)
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("brokersim: listen on %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	s.url = "https://" + ln.Addr().String()
	s.https = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errorLog,
		// HTTP/1.1 only, as the genuine broker; HTTP/2 would also make the
		// reset and truncate faults (which hijack) impossible.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			NextProtos:     []string{"http/1.1"},
			GetCertificate: s.getCertificate,
		},
	}
	s.syncKeepAlives() // TLS faults given in Options
	tlsLn := tls.NewListener(ln, s.https.TLSConfig)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.https.Serve(tlsLn)
	}()
	if s.opts.AdminAddr != "off" {
		if err := s.startAdmin(errorLog); err != nil {
			_ = s.https.Close()
			return err
		}
	}
	return nil
}

// getCertificate picks the certificate per connection: the good one, or
// one from another authority while a TLS fault is active.
func (s *Server) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if f, ok := s.faults.take("", true); ok {
		s.syncKeepAlives()
		s.log.add(Entry{Time: s.now(), Method: "TLS", Fault: f.Kind, Outcome: "presented a certificate from another authority"})
		c, err := foreignCert()
		if err != nil {
			return nil, err
		}
		return &c, nil
	}
	return &s.cert, nil
}

// URL returns the broker's base URL, https://127.0.0.1:PORT, once started.
func (s *Server) URL() string { return s.url }

// AdminURL returns the admin endpoint's base URL, http://127.0.0.1:PORT, or
// "" when it is off.
func (s *Server) AdminURL() string { return s.adminURL }

// CAFile returns the path of the PEM root certificate that clients must
// trust.
func (s *Server) CAFile() string { return s.caFile }

// PKI returns the simulator's test PKI, to issue user certificates that it
// accepts.
func (s *Server) PKI() *testpki.PKI { return s.pki }

// SetFault adds a fault. While a TLS fault is pending, keep-alives are off
// and idle connections are closed, so that the next request makes a new
// connection and meets it.
func (s *Server) SetFault(f Fault) error {
	if err := f.check(); err != nil {
		return err
	}
	s.faults.add(f)
	s.syncKeepAlives()
	return nil
}

// syncKeepAlives turns keep-alives off while a TLS fault is pending.
func (s *Server) syncKeepAlives() {
	if s.https != nil {
		s.https.SetKeepAlivesEnabled(!s.faults.hasTLS())
	}
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.faults.clear()
	s.syncKeepAlives()
}

// Faults returns the active faults.
func (s *Server) Faults() []Fault { return s.faults.list() }

// Log returns the request log so far (the last 10,000 entries).
func (s *Server) Log() []Entry { return s.log.all() }

// TicketLive reports whether ticket is a live session.
func (s *Server) TicketLive(ticket string) bool {
	return s.tickets.peek(ticket, s.now()) != nil
}

// Close stops the servers, closes the request log and removes a temporary
// PKI directory.
func (s *Server) Close() error {
	var err error
	s.close.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if s.https != nil {
			if e := s.https.Shutdown(ctx); e != nil {
				_ = s.https.Close()
			}
		}
		if s.admin != nil {
			if e := s.admin.Shutdown(ctx); e != nil {
				_ = s.admin.Close()
			}
		}
		s.wg.Wait()
		err = s.cleanup()
	})
	return err
}

func (s *Server) cleanup() error {
	var err error
	if s.log != nil {
		err = s.log.close()
	}
	if s.tempDir != "" {
		if e := os.RemoveAll(s.tempDir); e != nil && err == nil {
			err = e
		}
	}
	return err
}
