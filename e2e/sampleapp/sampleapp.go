// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package sampleapp is the sample NHS web application: the smallest honest
// example of a site that logs a clinician in with an NHS smartcard through
// Open Identity Agent. Web developers copy it; the end-to-end tests and the
// demo run it.
//
// It has three parts:
//
//   - static/index.html: the page, with a "Log in with smartcard" button, the
//     user and role the login gave, a live session indicator and an event log;
//   - static/app.js: one ES module that uses the OIA page library (served at
//     /oia.js from extension/dist/page/oia.js) and never sees the passcode;
//   - session.go: the server side, POST /api/session, which asks the Spine
//     Security Broker (here the simulator) what the ticket stands for, with
//     [broker.Client.RoleAssertion], because a server must never trust what a
//     browser tells it about a user.
//
// The site is served over HTTPS only, with a certificate from the test PKI
// (e2e/testpki), so that browsers in the tests verify TLS for real.
//
// Start one in process with [New] and [Server.Start], or block with [Run].
package sampleapp

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/host/broker"
)

// PageLibraryPath is where `make extension` writes the page library,
// relative to the repository root.
const PageLibraryPath = "extension/dist/page/oia.js"

// maxPageLibrary bounds the page library file read at start.
const maxPageLibrary = 4 << 20

//go:embed static
var staticFS embed.FS

// Options configure a [Server].
type Options struct {
	// Addr is the HTTPS listen address; default 127.0.0.1:0 (a free port).
	Addr string
	// PKI issues the site's TLS certificate (for 127.0.0.1 and localhost).
	// When nil, PKIDir is loaded or created with testpki.LoadOrCreate.
	// One of the two is required.
	PKI    *testpki.PKI
	PKIDir string
	// PageLibrary is the path of the built page library (oia.js), served
	// at /oia.js. Required: build it with `make extension`.
	PageLibrary string
	// BrokerURL is the broker's base URL (https), for the server-side
	// check of tickets. Required unless Checker is set.
	BrokerURL string
	// BrokerCAFile is a PEM file of extra roots to trust for BrokerURL
	// (the simulator's test root). Ignored when Checker is set.
	BrokerCAFile string
	// Checker, when set, replaces the broker client built from BrokerURL.
	Checker TicketChecker
	// ErrorLog receives the HTTP server's own errors (TLS handshake
	// failures, …); nil discards them.
	ErrorLog *log.Logger
	// TestPages serves the browser tests' hostile pages under /test/: a
	// document sandboxed by its Content-Security-Policy, a page framing a
	// sandboxed probe and another origin's recorder, and that recorder
	// (docs/e2e.md). Off for the demo.
	TestPages bool
}

// Server is a sample app, ready to [Server.Start]. Its methods are safe for
// concurrent use.
type Server struct {
	opts    Options
	pki     *testpki.PKI
	cert    tls.Certificate
	lib     []byte
	checker TicketChecker

	mu    sync.Mutex
	srv   *http.Server
	ln    net.Listener
	url   string
	done  chan struct{}
	start sync.Once
}

// New checks opts, reads the page library and issues the TLS certificate.
// It fails with a hint when the page library has not been built.
func New(opts Options) (*Server, error) {
	s := &Server{opts: opts, checker: opts.Checker, done: make(chan struct{})}
	if s.opts.Addr == "" {
		s.opts.Addr = "127.0.0.1:0"
	}
	var err error
	if s.lib, err = readPageLibrary(opts.PageLibrary); err != nil {
		return nil, err
	}
	switch {
	case opts.PKI != nil:
		s.pki = opts.PKI
	case opts.PKIDir != "":
		if s.pki, err = testpki.LoadOrCreate(opts.PKIDir); err != nil {
			return nil, fmt.Errorf("sampleapp: test pki: %w", err)
		}
	default:
		return nil, errors.New("sampleapp: no test pki: set PKI or PKIDir")
	}
	if s.cert, err = s.pki.IssueServer("127.0.0.1", "localhost"); err != nil {
		return nil, fmt.Errorf("sampleapp: issue the site certificate: %w", err)
	}
	if s.checker == nil {
		if opts.BrokerURL == "" {
			return nil, errors.New("sampleapp: no broker url: set BrokerURL to the broker (simulator) base url")
		}
		base, err := broker.ResolveBaseURL("", opts.BrokerURL)
		if err != nil {
			return nil, fmt.Errorf("sampleapp: %w", err)
		}
		c, err := broker.New(broker.Options{BaseURL: base, CABundle: opts.BrokerCAFile, Timeout: 10 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("sampleapp: %w", err)
		}
		s.checker = c
	}
	return s, nil
}

// readPageLibrary reads the built oia.js, bounded.
func readPageLibrary(path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("sampleapp: no page library: set PageLibrary to %s (build it with make extension)", PageLibraryPath)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sampleapp: page library %s is not built: run make extension", path)
	}
	if err != nil {
		return nil, fmt.Errorf("sampleapp: page library: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPageLibrary+1))
	if err != nil {
		return nil, fmt.Errorf("sampleapp: page library: %w", err)
	}
	if len(b) > maxPageLibrary {
		return nil, fmt.Errorf("sampleapp: page library %s is over %d bytes: is it the right file", path, maxPageLibrary)
	}
	return b, nil
}

// Start listens on Addr and serves in the background. It may be called once.
func (s *Server) Start() error {
	err := errors.New("sampleapp: already started")
	s.start.Do(func() { err = s.listen() })
	return err
}

func (s *Server) listen() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("sampleapp: listen on %s: %w", s.opts.Addr, err)
	}
	errorLog := s.opts.ErrorLog
	if errorLog == nil {
		errorLog = log.New(io.Discard, "", 0)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          errorLog,
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{s.cert},
		},
	}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.url = "https://" + ln.Addr().String()
	s.mu.Unlock()
	go func() {
		defer close(s.done)
		_ = srv.ServeTLS(ln, "", "")
	}()
	return nil
}

// URL returns the site's origin, https://127.0.0.1:PORT, once started. It is
// also the origin the OIA allow-list must hold.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// PKI returns the test PKI whose root browsers must trust for the site.
func (s *Server) PKI() *testpki.PKI { return s.pki }

// Close stops the server and waits for it.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	<-s.done
	return err
}

// Handler returns the site's routes: the page, its module, the page library
// and the session API.
func (s *Server) Handler() http.Handler {
	static, _ := fs.Sub(staticFS, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", file(static, "index.html", "text/html; charset=utf-8"))
	mux.Handle("GET /app.js", file(static, "app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /oia.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(s.lib)
	})
	mux.Handle("POST /api/session", sessionHandler(s.checker))
	h := secureHeaders(mux)
	if !s.opts.TestPages {
		return h
	}
	// The test pages carry CSPs of their own: the app's forbids framing.
	test := http.NewServeMux()
	page := func(name, csp string) http.Handler {
		f := file(static, "test/"+name, "text/html; charset=utf-8")
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The origin by name too: in a sandboxed document Chromium's
			// 'self' is the opaque origin, which matches no script.
			w.Header().Set("Content-Security-Policy", strings.ReplaceAll(csp, "'self'", "'self' https://"+r.Host))
			f.ServeHTTP(w, r)
		})
	}
	const scripts = "default-src 'none'; script-src 'self'"
	test.Handle("GET /test/sandboxed.html", page("sandboxed.html", "sandbox allow-scripts; "+scripts))
	test.Handle("GET /test/probe-frame.html", page("probe-frame.html", scripts))
	test.Handle("GET /test/framed.html", page("framed.html", scripts+"; frame-src https:"))
	test.Handle("GET /test/recorder.html", page("recorder.html", scripts))
	for _, js := range []string{"probe.js", "framed.js", "recorder.js"} {
		test.Handle("GET /test/"+js, file(static, "test/"+js, "text/javascript; charset=utf-8"))
	}
	test.Handle("/", h)
	return test
}

// file serves one embedded file with its content type.
func file(fsys fs.FS, name, contentType string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	})
}

// secureHeaders sets the headers a site that handles NHS tickets should
// send. The CSP allows only the site's own scripts; the extension's content
// script is not subject to it.
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		hd.Set("Strict-Transport-Security", "max-age=31536000")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// Run starts a sample app and serves until ctx is done, then stops it. ready,
// when not nil, is called with the running server (for its URL).
func Run(ctx context.Context, opts Options, ready func(*Server)) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	if ready != nil {
		ready(s)
	}
	<-ctx.Done()
	return s.Close()
}

// FindPageLibrary returns the path of the built page library in the
// repository that holds dir (searching dir and its parents for go.mod), so
// that tests and the demo started anywhere in the tree find it.
func FindPageLibrary(dir string) (string, error) {
	root, err := RepoRoot(dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(PageLibraryPath)), nil
}

// RepoRoot returns the repository root: dir or its nearest parent holding
// go.mod. The sample app serves the page library from there, and the demo
// finds the built commands and extension the same way.
func RepoRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("sampleapp: no go.mod above %s: run from inside the repository", dir)
		}
		d = parent
	}
}
