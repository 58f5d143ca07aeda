// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"html/template"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/openidentityagent/oia/e2e/testpki"
)

// waitingPage is the headed browser's first page: it says that Open
// Identity Agent is starting and moves on to the sample app once the demo
// marks it ready (the extension has started oia-host). The extension lets a
// site see it only after the host's hello; the sample app loaded before
// that would show NO_EXTENSION until the person clicked. It is served over
// HTTPS with a certificate from the test PKI, on its own port, so it is
// not an allowed origin.
type waitingPage struct {
	srv  *http.Server
	ln   net.Listener
	next string

	mu      sync.Mutex
	ready   bool
	reached chan struct{} // closed when the page has been told to move on
	once    sync.Once
}

var waitingHTML = template.Must(template.New("waiting").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Starting Open Identity Agent…</title>
<style>body { font-family: Arial, sans-serif; margin: 2rem; color: #212b32; } h1 { color: #005eb8; }</style>
</head><body>
<h1>Starting Open Identity Agent…</h1>
<p>The browser is starting the extension and oia-host. The sample NHS app, {{.}}, opens in a moment.</p>
<script>
async function poll() {
  try {
    const r = await fetch("/ready", { cache: "no-store" });
    if ((await r.json()).ready) { location.replace({{.}} + "/"); return; }
  } catch (e) { /* the demo is stopping */ }
  setTimeout(poll, 200);
}
poll();
</script>
</body></html>
`))

// startWaitingPage serves the page on a free loopback port; next is the
// URL it moves on to.
func startWaitingPage(pki *testpki.PKI, next string) (*waitingPage, error) {
	cert, err := pki.IssueServer("127.0.0.1")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w := &waitingPage{ln: ln, next: next, reached: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		rw.Header().Set("Cache-Control", "no-store")
		_ = waitingHTML.Execute(rw, next)
	})
	mux.HandleFunc("GET /ready", func(rw http.ResponseWriter, _ *http.Request) {
		w.mu.Lock()
		ready := w.ready
		w.mu.Unlock()
		if ready {
			w.once.Do(func() { close(w.reached) })
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(rw).Encode(map[string]bool{"ready": ready})
	})
	w.srv = &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	go func() {
		if err := w.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
	return w, nil
}

// URL is the page's address.
func (w *waitingPage) URL() string { return "https://" + w.ln.Addr().String() + "/" }

// Ready lets the page move on.
func (w *waitingPage) Ready() {
	w.mu.Lock()
	w.ready = true
	w.mu.Unlock()
}

// Reached is closed once the page has been told to move on.
func (w *waitingPage) Reached() <-chan struct{} { return w.reached }

// Close stops the server.
func (w *waitingPage) Close() error { return w.srv.Close() }
