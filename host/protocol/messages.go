// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Version is the native-messaging protocol version (docs/protocol.md §3.2).
// A change of the major number breaks compatibility; a change of the minor
// number only adds fields and messages.
const Version = "1.0"

// Bounds on request fields (docs/protocol.md §3.1).
const (
	MaxIDLen     = 64
	MaxOriginLen = 2048
	MaxPINLen    = 64
	MaxRoleIDLen = 64
	MaxFieldLen  = 256 // protocol and extension version strings

	// The bounds of the passcode timeout, in seconds, wherever it is set.
	MinPINTimeoutSeconds = 10
	MaxPINTimeoutSeconds = 600
)

// State is a login state; the strings are the names on the wire
// (docs/protocol.md §5).
type State string

// The login states.
const (
	StateNoCard         State = "noCard"
	StateCardPresent    State = "cardPresent"
	StateAwaitingPIN    State = "awaitingPin"
	StateVerifying      State = "verifying"
	StateAuthenticating State = "authenticating"
	StateAwaitingRole   State = "awaitingRole"
	StateLoggedIn       State = "loggedIn"
	StateLoggingOut     State = "loggingOut"
	StateLocked         State = "locked"
	StateFailed         State = "failed"
)

// States lists every login state.
var States = []State{
	StateNoCard, StateCardPresent, StateAwaitingPIN, StateVerifying, StateAuthenticating,
	StateAwaitingRole, StateLoggedIn, StateLoggingOut, StateLocked, StateFailed,
}

// RequestType names a request from the extension to the host.
type RequestType string

// The request types (docs/protocol.md §3.3).
const (
	ReqHello           RequestType = "hello"
	ReqStatus          RequestType = "status"
	ReqLogin           RequestType = "login"
	ReqGetTicket       RequestType = "getTicket"
	ReqGetTicketNoAuth RequestType = "getTicketNoAuth"
	ReqGetNewTicket    RequestType = "getNewTicket"
	ReqDestroyTicket   RequestType = "destroyTicket"
	ReqPIN             RequestType = "pin"
	ReqCancel          RequestType = "cancel"
	ReqSelectRole      RequestType = "selectRole"
)

// requestFields lists, per request type, the fields besides id and type that
// the request may carry, and whether each is required.
var requestFields = map[RequestType]map[string]bool{
	ReqHello:           {"protocol": false, "extension": false, "settings": false},
	ReqStatus:          {"origin": false, "frame": false}, // a page's, checked before it names the user
	ReqLogin:           {"origin": true, "frame": false},
	ReqGetTicket:       {"origin": true, "frame": false},
	ReqGetTicketNoAuth: {"origin": true, "frame": false},
	ReqGetNewTicket:    {"origin": true, "frame": false},
	ReqDestroyTicket:   {"origin": false, "frame": false},
	ReqPIN:             {"pin": true},
	ReqCancel:          {},
	ReqSelectRole:      {"roleId": true},
	ReqAgentStatus:     {},
	ReqAgentStop:       {},
}

// Request is a request from the extension. PIN is a secret: Request's String
// method leaves it out, and nothing may log the struct another way.
type Request struct {
	ID        string      `json:"id"`
	Type      RequestType `json:"type"`
	Protocol  string      `json:"protocol,omitempty"`
	Extension string      `json:"extension,omitempty"`
	Origin    string      `json:"origin,omitempty"`
	// Frame says the page that asked is a frame, not a tab's top document
	// (docs/protocol.md §3.3); the host's locked allowFrames decides whether
	// it is served (config.Config.FrameRequestAllowed).
	Frame  bool   `json:"frame,omitempty"`
	PIN    string `json:"pin,omitempty"`
	RoleID string `json:"roleId,omitempty"`
	// Settings are the policy overrides a hello request may carry.
	Settings *SettingsOverride `json:"settings,omitempty"`
}

// SettingsOverride holds the settings an extension's hello may carry from the
// browser's policy (docs/protocol.md §3.2). Nil fields are not set.
type SettingsOverride struct {
	PromptOnCardInsert *bool `json:"promptOnCardInsert,omitempty"`
	PINTimeoutSeconds  *int  `json:"pinTimeoutSeconds,omitempty"`
}

// String describes r for logs, without the passcode.
func (r Request) String() string {
	pin := ""
	if r.PIN != "" {
		pin = " pin=[REDACTED]"
	}
	frame := ""
	if r.Frame {
		frame = " frame"
	}
	return fmt.Sprintf("%s id=%q origin=%q%s%s", r.Type, r.ID, r.Origin, frame, pin)
}

// DecodeRequest parses one frame's JSON into a Request. It enforces the
// rules of docs/protocol.md §3.1 and §3.3: an object, known type, no unknown
// or missing fields, every string a string within its bound. The error is an
// *Error with code BAD_REQUEST; id is the request's id when it could be read,
// so the caller can still answer it.
func DecodeRequest(data []byte) (r Request, id string, err error) {
	return decodeRequest(data, true)
}

// DecodeClientRequest is DecodeRequest for a client of the agent that is
// not a browser (the oia command, the Ticket API library): its requests
// have no page, so the origin is optional (docs/protocol.md §6.4).
func DecodeClientRequest(data []byte) (r Request, id string, err error) {
	return decodeRequest(data, false)
}

func decodeRequest(data []byte, needOrigin bool) (r Request, id string, err error) {
	if !utf8.Valid(data) {
		return r, "", Errorf(CodeBadRequest, "the message is not valid utf-8")
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return r, "", Errorf(CodeBadRequest, "the message is not a json object")
	}
	if dec.More() {
		return r, "", Errorf(CodeBadRequest, "the message has data after the json object")
	}
	str := func(name string, max int) (string, error) {
		v, ok := raw[name]
		if !ok {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", Errorf(CodeBadRequest, "field %q must be a string", name)
		}
		if len(s) > max {
			return "", Errorf(CodeBadRequest, "field %q is longer than %d bytes", name, max)
		}
		return s, nil
	}
	if id, err = str("id", MaxIDLen); err != nil {
		return r, "", err
	}
	if id == "" {
		return r, "", Errorf(CodeBadRequest, "the request has no id")
	}
	typ, err := str("type", MaxFieldLen)
	if err != nil {
		return r, id, err
	}
	fields, ok := requestFields[RequestType(typ)]
	if !ok {
		return r, id, Errorf(CodeBadRequest, "unknown request type %q", truncate(typ, 40))
	}
	for name := range raw {
		if name == "id" || name == "type" {
			continue
		}
		if _, ok := fields[name]; !ok {
			return r, id, Errorf(CodeBadRequest, "unknown field %q in %s request", truncate(name, 40), typ)
		}
	}
	r = Request{ID: id, Type: RequestType(typ)}
	for name, required := range fields {
		if _, ok := raw[name]; required && !ok && (needOrigin || name != "origin") {
			return r, id, Errorf(CodeBadRequest, "%s request needs field %q", typ, name)
		}
	}
	for _, f := range []struct {
		name string
		max  int
		dst  *string
	}{
		{"protocol", MaxFieldLen, &r.Protocol},
		{"extension", MaxFieldLen, &r.Extension},
		{"origin", MaxOriginLen, &r.Origin},
		{"pin", MaxPINLen, &r.PIN},
		{"roleId", MaxRoleIDLen, &r.RoleID},
	} {
		if *f.dst, err = str(f.name, f.max); err != nil {
			return r, id, err
		}
	}
	if v, ok := raw["frame"]; ok {
		if err := json.Unmarshal(v, &r.Frame); err != nil {
			return r, id, Errorf(CodeBadRequest, "field \"frame\" must be true or false")
		}
	}
	if v, ok := raw["settings"]; ok {
		var so SettingsOverride
		d := json.NewDecoder(bytes.NewReader(v))
		d.DisallowUnknownFields()
		if err := d.Decode(&so); err != nil {
			return r, id, Errorf(CodeBadRequest, "field \"settings\" must be an object with promptOnCardInsert and pinTimeoutSeconds only")
		}
		if so.PINTimeoutSeconds != nil && (*so.PINTimeoutSeconds < MinPINTimeoutSeconds || *so.PINTimeoutSeconds > MaxPINTimeoutSeconds) {
			return r, id, Errorf(CodeBadRequest, "pinTimeoutSeconds must be between %d and %d", MinPINTimeoutSeconds, MaxPINTimeoutSeconds)
		}
		r.Settings = &so
	}
	return r, id, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// User is the logged-in person.
type User struct {
	UID  string `json:"uid"`
	Name string `json:"name,omitempty"`
}

// Role is one of a user's roles, as the broker lists it.
type Role struct {
	ID      string `json:"id"`
	OrgCode string `json:"orgCode,omitempty"`
	Name    string `json:"name,omitempty"`
	OrgName string `json:"orgName,omitempty"`
	JobRole string `json:"jobRole,omitempty"`
}

// Card describes the card in the reader.
type Card struct {
	Present bool   `json:"present"`
	Label   string `json:"label,omitempty"`
	Serial  string `json:"serial,omitempty"`
	UID     string `json:"uid,omitempty"`
}

// PINPrompt is the body of a pinRequired event, and the pin field of a status
// result while a passcode is wanted.
type PINPrompt struct {
	Origin         string `json:"origin,omitempty"`
	UID            string `json:"uid,omitempty"`
	AttemptsLeft   int    `json:"attemptsLeft"`
	FinalTry       bool   `json:"finalTry"`
	PINPad         bool   `json:"pinPad"`
	TimeoutSeconds int    `json:"timeoutSeconds"`
	LastError      Code   `json:"lastError,omitempty"`
	// App names the desktop application whose Ticket API call needs the
	// login, as the operating system reported it; nil for a page's.
	App *App `json:"app,omitempty"`
}

// App is a desktop application at the other end of the agent's endpoint:
// its executable's file name and process id, from the endpoint's peer
// credentials, never from the application's own claim.
type App struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
}

// RolePrompt is the body of a roleRequired event.
type RolePrompt struct {
	Origin         string `json:"origin,omitempty"`
	User           User   `json:"user"`
	Roles          []Role `json:"roles"`
	TimeoutSeconds int    `json:"timeoutSeconds"`
	// App is as in PINPrompt.
	App *App `json:"app,omitempty"`
}

// Session is a logged-in session without its ticket: the body of a loggedIn
// event, and part of results.
type Session struct {
	User      *User      `json:"user,omitempty"`
	Role      *Role      `json:"role,omitempty"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// TicketBody is the result of a ticket request. Ticket is a secret: it may go
// only into a result frame, never into a log.
type TicketBody struct {
	Ticket string `json:"ticket"`
	Session
}

// StatusBody is the result of a status request.
type StatusBody struct {
	State State      `json:"state"`
	Card  Card       `json:"card"`
	PIN   *PINPrompt `json:"pin,omitempty"`
	Session
}

// HelloBody is the body of the host's hello frame and of a hello result.
type HelloBody struct {
	Protocol string   `json:"protocol"`
	Version  string   `json:"version"`
	State    State    `json:"state"`
	Settings Settings `json:"settings"`
	// Agent describes the agent process, in the hello it sends through a
	// relay (docs/protocol.md §6).
	Agent *AgentInfo `json:"agent,omitempty"`
}

// AgentInfo describes the running agent.
type AgentInfo struct {
	PID int `json:"pid"`
}

// Settings are the host's configuration values that the extension needs too
// (docs/protocol.md §3.2).
type Settings struct {
	AllowedOrigins     []string `json:"allowedOrigins"`
	AllowFrames        bool     `json:"allowFrames"`
	PromptOnCardInsert bool     `json:"promptOnCardInsert"`
	PINTimeoutSeconds  int      `json:"pinTimeoutSeconds"`
}

// Hello is the frame the host sends first (docs/protocol.md §3.2).
type Hello struct {
	HelloBody
}

// MarshalJSON writes {"type":"hello", …}.
func (h Hello) MarshalJSON() ([]byte, error) {
	return merge(`{"type":"hello"`, h.HelloBody)
}

// EventName names an event from the host (docs/protocol.md §3.5).
type EventName string

// The events.
const (
	EvState           EventName = "state"
	EvCardInserted    EventName = "cardInserted"
	EvCardRemoved     EventName = "cardRemoved"
	EvPINRequired     EventName = "pinRequired"
	EvRoleRequired    EventName = "roleRequired"
	EvLoggedIn        EventName = "loggedIn"
	EvTicketDestroyed EventName = "ticketDestroyed"
	EvError           EventName = "error"
)

// StateChange is the body of a state event.
type StateChange struct {
	State    State `json:"state"`
	Previous State `json:"previous"`
}

// CardInserted is the body of a cardInserted event.
type CardInserted struct {
	Card Card `json:"card"`
}

// TicketDestroyed is the body of a ticketDestroyed event.
type TicketDestroyed struct {
	Reason string `json:"reason"`
}

// Reasons for ticketDestroyed.
const (
	ReasonLogout      = "logout"
	ReasonCardRemoved = "cardRemoved"
	ReasonCardSwapped = "cardSwapped"
	ReasonExpired     = "expired"
	ReasonNewLogin    = "newLogin"
)

// ErrorEvent is the body of an error event.
type ErrorEvent struct {
	Error  *ErrorBody `json:"error"`
	Origin string     `json:"origin,omitempty"`
}

// ErrorEventOf is the error event for err, for no page in particular: a
// frame that could not be answered by id, a connection refused.
func ErrorEventOf(err error) Event {
	return Event{Name: EvError, Body: ErrorEvent{Error: BodyOf(err)}}
}

// Event is a message the host pushes without a request. Body is one of the
// event body types above, or nil.
type Event struct {
	Name EventName
	Body any
}

// MarshalJSON writes {"type":"event","event":Name, …Body's fields}.
func (e Event) MarshalJSON() ([]byte, error) {
	return merge(`{"type":"event","event":`+quote(string(e.Name)), e.Body)
}

// Result answers one request. Err, when set, makes it a failure; otherwise
// Body's fields (if any) are added to {"ok":true}.
type Result struct {
	ID   string
	Err  *ErrorBody
	Body any
}

// MarshalJSON writes {"id":ID,"type":"result","ok":…, …}.
func (r Result) MarshalJSON() ([]byte, error) {
	head := `{"id":` + quote(r.ID) + `,"type":"result"`
	if r.Err != nil {
		return merge(head+`,"ok":false`, struct {
			Error *ErrorBody `json:"error"`
		}{r.Err})
	}
	return merge(head+`,"ok":true`, r.Body)
}

// OK returns a successful result for id with body's fields.
func OK(id string, body any) Result { return Result{ID: id, Body: body} }

// Fail returns a failed result for id.
func Fail(id string, err error) Result { return Result{ID: id, Err: BodyOf(err)} }

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// merge appends the fields of body (which must marshal to a JSON object, or
// be nil) to head, an unterminated JSON object.
func merge(head string, body any) ([]byte, error) {
	if body == nil {
		return []byte(head + "}"), nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[0] != '{' {
		return nil, fmt.Errorf("protocol: body %T does not marshal to an object", body)
	}
	out := make([]byte, 0, len(head)+len(b)+1)
	out = append(out, head...)
	if len(b) > 2 {
		out = append(out, ',')
		out = append(out, b[1:]...)
	} else {
		out = append(out, '}')
	}
	return out, nil
}

// Frame is any message from the host, decoded: the union of every field that
// hellos, results and events carry. Clients of the host (tests, the oia
// command, benchmarks) read frames into it.
type Frame struct {
	ID             string     `json:"id,omitempty"`
	Type           string     `json:"type"`
	Event          EventName  `json:"event,omitempty"`
	OK             bool       `json:"ok,omitempty"`
	Error          *ErrorBody `json:"error,omitempty"`
	Protocol       string     `json:"protocol,omitempty"`
	Version        string     `json:"version,omitempty"`
	Settings       *Settings  `json:"settings,omitempty"`
	State          State      `json:"state,omitempty"`
	Previous       State      `json:"previous,omitempty"`
	Ticket         string     `json:"ticket,omitempty"`
	User           *User      `json:"user,omitempty"`
	Role           *Role      `json:"role,omitempty"`
	Roles          []Role     `json:"roles,omitempty"`
	ExpiresAt      *time.Time `json:"expiresAt,omitempty"`
	Card           *Card      `json:"card,omitempty"`
	PIN            *PINPrompt `json:"pin,omitempty"`
	Origin         string     `json:"origin,omitempty"`
	UID            string     `json:"uid,omitempty"`
	AttemptsLeft   int        `json:"attemptsLeft,omitempty"`
	FinalTry       bool       `json:"finalTry,omitempty"`
	PINPad         bool       `json:"pinPad,omitempty"`
	TimeoutSeconds int        `json:"timeoutSeconds,omitempty"`
	LastError      Code       `json:"lastError,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	App            *App       `json:"app,omitempty"`
}
