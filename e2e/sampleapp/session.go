// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package sampleapp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/protocol"
)

// TicketChecker asks the broker what a ticket stands for. *broker.Client is
// the real one.
type TicketChecker interface {
	RoleAssertion(ctx context.Context, ticket string) (*broker.Assertion, error)
}

var _ TicketChecker = (*broker.Client)(nil)

// maxSessionBody bounds the POST /api/session body: {"ticket":"…"} with a
// ticket of at most a few hundred characters.
const maxSessionBody = 4 << 10

// checkTimeout bounds one broker check.
const checkTimeout = 15 * time.Second

// SessionRequest is the body of POST /api/session.
type SessionRequest struct {
	// Ticket is the SSO ticket the page library returned.
	Ticket string `json:"ticket"`
}

// SessionResponse is the answer of POST /api/session: what the broker says
// about the ticket. It never holds the ticket.
type SessionResponse struct {
	User  *SessionUser  `json:"user,omitempty"`
	Role  *SessionRole  `json:"role,omitempty"`
	Mode  string        `json:"mode,omitempty"` // "live" or "training"
	Error *SessionError `json:"error,omitempty"`
}

// SessionUser is the user the broker names.
type SessionUser struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
}

// SessionRole is the role selected for the session, as the broker reports it.
type SessionRole struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	OrgCode string `json:"orgCode"`
	OrgName string `json:"orgName"`
	JobRole string `json:"jobRole"`
}

// SessionError is an error with a stable code from docs/protocol.md §4.
type SessionError struct {
	Code    protocol.Code `json:"code"`
	Message string        `json:"message"`
}

// sessionHandler checks a ticket at the broker. A real application would
// now start its own session (a cookie) for the user and role the broker
// confirmed; the sample only shows them.
func sessionHandler(checker TicketChecker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only the page itself may call: a JSON content type cannot be
		// sent cross-site without a CORS preflight, which this server
		// never grants, and a browser's Origin header must be ours.
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
			fail(w, http.StatusUnsupportedMediaType, protocol.CodeBadRequest, "send the ticket as application/json")
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != "https://"+r.Host {
			fail(w, http.StatusForbidden, protocol.CodeOriginNotAllowed, "cross-origin requests are refused")
			return
		}
		var req SessionRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, maxSessionBody+1))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || dec.More() {
			fail(w, http.StatusBadRequest, protocol.CodeBadRequest, `send {"ticket":"…"} of at most 4 KiB`)
			return
		}
		if strings.TrimSpace(req.Ticket) == "" {
			fail(w, http.StatusBadRequest, protocol.CodeBadRequest, "the ticket is empty: log in first")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
		defer cancel()
		a, err := checker.RoleAssertion(ctx, req.Ticket)
		if err != nil {
			// The error names the broker's answer, never the ticket.
			code := protocol.CodeOf(err)
			status := http.StatusBadGateway
			var be *broker.Error
			switch {
			case code == protocol.CodeSessionExpired:
				status = http.StatusUnauthorized
			case errors.As(err, &be) && be.Kind == broker.KindUsage:
				status, code = http.StatusBadRequest, protocol.CodeBadRequest
			}
			fail(w, status, code, "the broker did not confirm the ticket: "+err.Error())
			return
		}
		resp := SessionResponse{User: &SessionUser{UID: a.UID, Name: a.Name}, Mode: "live"}
		if a.Mode == "1" {
			resp.Mode = "training"
		}
		if role, ok := a.SelectedRole(); ok {
			resp.Role = &SessionRole{ID: role.ID, Name: role.Name, OrgCode: role.OrgCode, OrgName: role.OrgName, JobRole: role.JobRole}
		}
		reply(w, http.StatusOK, resp)
	})
}

func fail(w http.ResponseWriter, status int, code protocol.Code, msg string) {
	reply(w, status, SessionResponse{Error: &SessionError{Code: code, Message: msg}})
}

func reply(w http.ResponseWriter, status int, v SessionResponse) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
