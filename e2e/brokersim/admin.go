// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package brokersim

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"
)

// startAdmin serves the admin endpoint on a loopback address:
//
//	POST   /faults   {"endpoint":"validate","kind":"delay","delay":"5s","count":1}
//	GET    /faults   the active faults
//	DELETE /faults   clear every fault
//	GET    /log      the request log (JSON array of Entry)
//	GET    /tickets?token=<ticket>   {"live":true,"uid":"…","roleId":"…"}
//	GET    /users    the known users
func (s *Server) startAdmin(errorLog *log.Logger) error {
	host, _, err := net.SplitHostPort(s.opts.AdminAddr)
	if err != nil {
		return fmt.Errorf("brokersim: admin address %q: %w", s.opts.AdminAddr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("brokersim: admin address %q is not loopback: the admin endpoint has no authentication", s.opts.AdminAddr)
	}
	ln, err := net.Listen("tcp", s.opts.AdminAddr)
	if err != nil {
		return fmt.Errorf("brokersim: admin listen on %s: %w", s.opts.AdminAddr, err)
	}
	s.adminLn = ln
	s.adminURL = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		if err := dec.Decode(&f); err != nil {
			http.Error(w, "fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := s.SetFault(f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.Faults()) })
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /log", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.Log()) })
	mux.HandleFunc("GET /tickets", func(w http.ResponseWriter, r *http.Request) {
		type state struct {
			Live   bool   `json:"live"`
			UID    string `json:"uid,omitempty"`
			RoleID string `json:"roleId,omitempty"`
		}
		sess := s.tickets.peek(r.URL.Query().Get("token"), s.now())
		if sess == nil {
			writeJSON(w, state{})
			return
		}
		writeJSON(w, state{Live: true, UID: sess.UID, RoleID: sess.RoleID})
	})
	mux.HandleFunc("GET /users", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.userList)
	})
	s.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errorLog}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.admin.Serve(ln)
	}()
	return nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
