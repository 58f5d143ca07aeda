// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package config loads the host's configuration: the defaults, then a
// system file that IT manages, then a per-user file.
//
// # Files
//
// Both files are JSON objects with the keys of [Config]. The system file is
// /etc/oia/config.json on Linux, /Library/Application Support/OIA/config.json
// on macOS and %ProgramData%\OIA\config.json on Windows; the user file is
// config.json in the user's configuration folder under oia (Linux, Windows)
// or OIA (macOS). OIA_SYSTEM_CONFIG and OIA_CONFIG name other files (tests,
// the demo). A missing file is not an error; an unknown key, a value of the
// wrong type or a bad value is, and the error names the file and the key.
//
// # Security keys
//
// The keys that decide whom the host trusts — the broker (environment, URL,
// CA bundle), the allowed origins and frames, the allowed extensions and the
// PKCS#11 modules — follow three rules (docs/security.md, "Configuration"):
//
//   - The system file is read only if no one but an administrator can
//     change it or any folder above it (trust.go). Otherwise it is ignored
//     with CONFIG_UNSAFE ([Config.Unsafe]) and every security key keeps its
//     default, locked.
//   - Once the system file sets a security key, the user file cannot loosen
//     it: a scalar keeps the system's value, a list keeps only the user's
//     entries the system list also has. The broker's three keys are one
//     group: if the system file sets any, the user file sets none.
//   - A security key the system file leaves unset may come from the user
//     file only if nobody but the user can read or write that file (0600 on
//     Unix); each such value is listed in [Config.UserSecurity] and warned
//     about by --print-config and oia doctor.
//
// What was ignored is reported in [Config.Notes]. A release build ignores
// OIA_SYSTEM_CONFIG and trusts by default only the extension ids it was
// linked with (build.go).
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/openidentityagent/oia/host/origin"
	"github.com/openidentityagent/oia/host/protocol"
	"github.com/openidentityagent/oia/host/spine"
)

// Config is the effective configuration. The json names are the keys of the
// files.
type Config struct {
	// BrokerEnvironment is live, int, dep, training or dev
	// (docs/references.md, "Broker: hosts").
	BrokerEnvironment string `json:"brokerEnvironment"`
	// BrokerURL, when set, overrides the environment's base URL.
	BrokerURL string `json:"brokerURL"`
	// CABundle is a PEM file of extra trust anchors for the broker's TLS,
	// added to the system roots (the NHS roots where the OS lacks them).
	CABundle string `json:"caBundle"`
	// UserAgent is sent to the broker; empty means the genuine clients' one.
	UserAgent string `json:"userAgent"`
	// BrokerTimeoutSeconds bounds each call to the broker, retries
	// included.
	BrokerTimeoutSeconds int `json:"brokerTimeoutSeconds"`
	// SignatureHash is the challenge's CMS digest: sha1 (as every captured
	// genuine client) or sha256.
	SignatureHash string `json:"signatureHash"`
	// PKCS11Modules are the smartcard middleware libraries to load.
	PKCS11Modules []string `json:"pkcs11Modules"`
	// AllowedOrigins are the web origins that may ask for the ticket.
	AllowedOrigins []string `json:"allowedOrigins"`
	// AllowFrames lets allowed origins ask from inside frames.
	AllowFrames bool `json:"allowFrames"`
	// AllowedExtensions are the browser extensions that may start the host:
	// Chrome extension ids and Firefox add-on ids.
	AllowedExtensions []string `json:"allowedExtensions"`
	// PromptOnCardInsert asks for the passcode as soon as a card is inserted,
	// as the Identity Agent does; otherwise the host waits for a page.
	PromptOnCardInsert bool `json:"promptOnCardInsert"`
	// PINTimeoutSeconds is how long the passcode and role prompts wait.
	PINTimeoutSeconds int `json:"pinTimeoutSeconds"`
	// CardPollMilliseconds is how often the card reader is polled.
	CardPollMilliseconds int `json:"cardPollMilliseconds"`
	// LogLevel is error, warn, info or debug.
	LogLevel string `json:"logLevel"`
	// LogFile overrides the per-user log file location.
	LogFile string `json:"logFile"`
	// AgentIdleSeconds is how long the agent waits, with no card in a
	// reader and no client connected, before it exits; 0 keeps it running
	// until the user's session ends.
	AgentIdleSeconds int `json:"agentIdleSeconds"`
	// TicketAPIEnabled lets desktop applications get the ticket through the
	// Ticket API library (docs/ticket-api.md). Only the system file may set
	// it.
	TicketAPIEnabled bool `json:"ticketApiEnabled"`
	// TicketAPIExecutables, when not empty, narrows the Ticket API to these
	// executables (absolute paths). Only the system file may set it.
	TicketAPIExecutables []string `json:"ticketApiExecutables"`

	// Sources says where each key's value came from: "default" or a path.
	Sources map[string]string `json:"-"`
	// Notes lists user-file values that were ignored, and why.
	Notes []string `json:"-"`
	// Locked lists the keys the system file set; a browser policy cannot
	// override them either.
	Locked map[string]bool `json:"-"`
	// UserSecurity lists the security keys whose value came from the user
	// file (the system file left them unset): shown as warnings by
	// --print-config and oia doctor.
	UserSecurity []string `json:"-"`
	// Unsafe, when set, is why the system file was ignored (CONFIG_UNSAFE).
	Unsafe error `json:"-"`
	// DefaultModules is true when PKCS11Modules are the built-in defaults,
	// which the host loads only where they exist.
	DefaultModules bool `json:"-"`
}

// Default extension ids: the development build's Chrome id (fixed by the key
// in extension/static/dev-key.pub.b64) and the Firefox add-on id.
const (
	ChromeDevExtensionID = "jojkkadnmnpkbklmagcdhigmbdlcaoha"
	FirefoxExtensionID   = "identity-agent@openidentityagent.org"
)

// securityKeys cannot be loosened by the user file.
var securityKeys = map[string]bool{
	"brokerEnvironment": true, "brokerURL": true, "caBundle": true, "pkcs11Modules": true,
	"allowedOrigins": true, "allowFrames": true, "allowedExtensions": true,
}

// systemOnlyKeys are set by the system file alone: a user file's value is
// ignored, with a note, even when the system file is silent.
var systemOnlyKeys = map[string]bool{"ticketApiEnabled": true, "ticketApiExecutables": true}

// Default returns the built-in configuration.
func Default() *Config {
	c := &Config{
		BrokerEnvironment:    "live",
		SignatureHash:        "sha1",
		BrokerTimeoutSeconds: int(spine.DefaultTimeout / time.Second),
		PKCS11Modules:        defaultModules(),
		AllowedOrigins:       []string{"https://*.nhs.uk"},
		AllowedExtensions:    BuiltInExtensions(),
		PromptOnCardInsert:   true,
		PINTimeoutSeconds:    120,
		CardPollMilliseconds: 500,
		LogLevel:             "info",
		Sources:              map[string]string{},
		Locked:               map[string]bool{},
		DefaultModules:       true,
	}
	for _, k := range keys() {
		c.Sources[k] = "default"
	}
	return c
}

// Paths names the two configuration files.
type Paths struct {
	System string
	User   string
	// TrustUser accepts a system file owned by the current user: a file a
	// development build was pointed at with OIA_SYSTEM_CONFIG (tests, the
	// demo). Otherwise only an administrator may own it (see trust.go).
	TrustUser bool
}

// DefaultPaths returns the files for this OS and user, or those named by
// OIA_SYSTEM_CONFIG and OIA_CONFIG. A release build ignores
// OIA_SYSTEM_CONFIG: a user must not be able to swap the machine's file for
// one of their own.
func DefaultPaths() Paths {
	p := Paths{System: systemPath(), User: userPath()}
	if v := os.Getenv("OIA_SYSTEM_CONFIG"); v != "" && !Release() {
		p.System, p.TrustUser = v, true
	}
	if v := os.Getenv("OIA_CONFIG"); v != "" {
		p.User = v
	}
	return p
}

// brokerGroup are the keys that together name the broker and how it is
// trusted: if the system file sets one, the user file can set none.
var brokerGroup = []string{"brokerEnvironment", "brokerURL", "caBundle"}

// Load reads the files named by p over the defaults. A missing file is
// skipped; an empty path means no file.
//
// A system file that a non-administrator could change is not read: Unsafe
// says why, and every security key keeps its default and is locked (so
// neither the user file nor a browser policy can widen it). A user file may
// set a security key the system file leaves unset only if nobody else can
// read or write it; each such value is listed in UserSecurity.
func Load(p Paths) (*Config, error) {
	c := Default()
	if p.System != "" {
		data, err := os.ReadFile(p.System)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("config: read %s: %w", p.System, err)
		default:
			problem, err := checkFile(p.System, checkOptions{trustUser: p.TrustUser}, checkPath)
			if err != nil {
				return nil, err
			}
			if problem != "" {
				c.refuseSystem(p.System, problem)
			} else if err := c.apply(p.System, data, true, nil); err != nil {
				return nil, err
			}
		}
	}
	for _, k := range brokerGroup {
		if c.Locked[k] {
			for _, g := range brokerGroup {
				c.Locked[g] = true
			}
			break
		}
	}
	if p.User != "" {
		data, err := os.ReadFile(p.User)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("config: read %s: %w", p.User, err)
		default:
			private := func() (string, error) {
				return checkFile(p.User, checkOptions{trustUser: true, private: true}, checkPath)
			}
			if err := c.apply(p.User, data, false, private); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// CheckSystemFile returns what [Load] would refuse in data as the system
// file at path: not a JSON object, an unknown key, a value of the wrong
// type or a bad value. It does not check who may change the file (the
// installers that write it make its folder administrators-only).
func CheckSystemFile(path string, data []byte) error {
	return Default().apply(path, data, true, nil)
}

// refuseSystem records that the system file at path is not trusted, and
// locks every security key at its default.
func (c *Config) refuseSystem(path, problem string) {
	c.Unsafe = unsafeError(path, problem, "the host ignores it and trusts only its defaults until an administrator fixes it (docs/security.md)")
	c.Notes = append(c.Notes, c.Unsafe.Error())
	for k := range securityKeys {
		c.Locked[k] = true
		c.Sources[k] = "default (the system file is ignored)"
	}
}

// maxFileSize bounds a configuration file.
const maxFileSize = 1 << 20

// fileError is the error for a bad file or key; it carries CONFIG_INVALID.
func fileError(path, key, format string, args ...any) error {
	where := path
	if key != "" {
		where += ": key " + key
	}
	return protocol.Errorf(protocol.CodeConfigInvalid, "config: %s: %s", where, fmt.Sprintf(format, args...))
}

// apply sets the keys of one file. For the user file, private says whether
// it may carry security keys (the empty problem) or why not; it is called
// at most once, when the file sets a security key the system file did not.
func (c *Config) apply(path string, data []byte, system bool, private func() (string, error)) error {
	if len(data) > maxFileSize {
		return fileError(path, "", "file is over 1 MiB")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return fileError(path, "", "not a JSON object (%v)", err)
	}
	v := reflect.ValueOf(c).Elem()
	fields := fieldsByKey()
	// Apply in a fixed order so errors are deterministic.
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	slices.Sort(names)
	privateProblem, privateChecked := "", false
	for _, key := range names {
		idx, ok := fields[key]
		if !ok {
			return fileError(path, key, "unknown key; known keys are %s", strings.Join(keys(), ", "))
		}
		fv := v.Field(idx)
		nv := reflect.New(fv.Type())
		dec := json.NewDecoder(bytes.NewReader(raw[key]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(nv.Interface()); err != nil {
			return fileError(path, key, "wrong type: want %s", typeName(fv.Type()))
		}
		if err := validate(key, nv.Elem().Interface()); err != nil {
			return fileError(path, key, "%v", err)
		}
		if !system && systemOnlyKeys[key] {
			c.Notes = append(c.Notes, fmt.Sprintf("%s: key %s ignored: only the system file may set it", path, key))
			continue
		}
		if !system && securityKeys[key] && c.Locked[key] {
			c.narrow(path, key, fv, nv.Elem())
			continue
		}
		if !system && securityKeys[key] {
			if !privateChecked {
				p, err := private()
				if err != nil {
					return err
				}
				privateProblem, privateChecked = p, true
			}
			if privateProblem != "" {
				c.Notes = append(c.Notes, fmt.Sprintf("%s: key %s ignored: %s; a user file may set a security key only if nobody else can read or write it, or IT sets it in the system file", path, key, privateProblem))
				continue
			}
			c.UserSecurity = append(c.UserSecurity, key)
		}
		fv.Set(nv.Elem())
		c.Sources[key] = path
		if system {
			c.Locked[key] = true
		}
		if key == "pkcs11Modules" {
			c.DefaultModules = false
		}
	}
	return nil
}

// UserSecurityWarning is the warning for security key k set by the user
// file: what --print-config and oia doctor show.
func (c *Config) UserSecurityWarning(k string) string {
	return fmt.Sprintf("security key %s comes from the user file %s, not from IT: set it in the system file to decide it for every user", k, c.Sources[k])
}

// Warnings are the lines a host logs at start: the notes, then each
// security key the user file set.
func (c *Config) Warnings() []string {
	w := slices.Clone(c.Notes)
	for _, k := range c.UserSecurity {
		w = append(w, c.UserSecurityWarning(k))
	}
	return w
}

// narrow applies a user value for a security key the system file set: lists
// keep the user's entries the system also lists; scalars keep the system's.
func (c *Config) narrow(path, key string, cur, user reflect.Value) {
	if cur.Kind() != reflect.Slice {
		if !reflect.DeepEqual(cur.Interface(), user.Interface()) {
			why := "the system file sets it"
			if c.Unsafe != nil {
				why = "the default is locked while the system file is ignored"
			}
			c.Notes = append(c.Notes, fmt.Sprintf("%s: key %s ignored: %s", path, key, why))
		}
		return
	}
	sys := cur.Interface().([]string)
	var kept, dropped []string
	for _, e := range user.Interface().([]string) {
		if slices.Contains(sys, e) {
			kept = append(kept, e)
		} else {
			dropped = append(dropped, e)
		}
	}
	if len(dropped) > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%s: key %s: %s ignored: not in the system file's list", path, key, strings.Join(dropped, ", ")))
	}
	cur.Set(reflect.ValueOf(kept))
	c.Sources[key] = path + " (narrowed by the system file)"
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "a list of strings"
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "a whole number"
	}
	return "a string"
}

func validate(key string, v any) error {
	switch key {
	case "brokerEnvironment":
		if _, ok := spine.Environments[v.(string)]; !ok {
			return fmt.Errorf("unknown environment %q; use one of live, int, dep, training, dev", v)
		}
	case "brokerURL":
		if s := v.(string); s != "" {
			if _, err := spine.ResolveBaseURL("", s); err != nil {
				return err
			}
		}
	case "signatureHash":
		if s := v.(string); s != "sha1" && s != "sha256" {
			return fmt.Errorf("%q is not sha1 or sha256", s)
		}
	case "allowedOrigins":
		if _, err := origin.ParseList(v.([]string)); err != nil {
			return err
		}
	case "allowedExtensions":
		for _, id := range v.([]string) {
			if !validExtensionID(id) {
				return fmt.Errorf("%q is neither a Chrome extension id (32 letters a-p) nor a Firefox add-on id (name@domain or {uuid})", id)
			}
		}
	case "agentIdleSeconds":
		if n := v.(int); n != 0 && (n < 5 || n > 7*24*3600) {
			return fmt.Errorf("%d is out of range: 0 (never) or 5..604800", n)
		}
	case "pkcs11Modules", "caBundle", "logFile", "ticketApiExecutables":
		var paths []string
		if s, ok := v.(string); ok && s != "" {
			paths = []string{s}
		} else if l, ok := v.([]string); ok {
			paths = l
		}
		for _, p := range paths {
			if !isAbs(p) {
				return fmt.Errorf("path %q must be absolute", p)
			}
		}
	case "pinTimeoutSeconds":
		if n := v.(int); n < protocol.MinPINTimeoutSeconds || n > protocol.MaxPINTimeoutSeconds {
			return fmt.Errorf("%d is out of range %d..%d", n, protocol.MinPINTimeoutSeconds, protocol.MaxPINTimeoutSeconds)
		}
	case "brokerTimeoutSeconds":
		if n := v.(int); n < 1 || n > 300 {
			return fmt.Errorf("%d is out of range 1..300", n)
		}
	case "cardPollMilliseconds":
		if n := v.(int); n < 100 || n > 10000 {
			return fmt.Errorf("%d is out of range 100..10000", n)
		}
	case "logLevel":
		if s := v.(string); !slices.Contains([]string{"error", "warn", "info", "debug"}, s) {
			return fmt.Errorf("%q is not error, warn, info or debug", s)
		}
	case "userAgent":
		if s := v.(string); len(s) > 256 || strings.ContainsAny(s, "\r\n") {
			return fmt.Errorf("must be one line of at most 256 characters")
		}
	}
	return nil
}

// ValidExtensionID reports whether id is a Chrome extension id or a Firefox
// add-on id.
func validExtensionID(id string) bool {
	if len(id) == 32 && strings.Trim(id, "abcdefghijklmnop") == "" {
		return true
	}
	if len(id) > 80 {
		return false
	}
	if strings.HasPrefix(id, "{") && strings.HasSuffix(id, "}") && len(id) == 38 {
		return true
	}
	name, domain, ok := strings.Cut(id, "@")
	return ok && name != "" && domain != "" && !strings.ContainsAny(id, " /\\\"'")
}

// IsChromeID reports whether id is a Chrome extension id (32 letters a-p).
func IsChromeID(id string) bool {
	return len(id) == 32 && strings.Trim(id, "abcdefghijklmnop") == ""
}

func keys() []string {
	t := reflect.TypeOf(Config{})
	var ks []string
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("json"); k != "" && k != "-" {
			ks = append(ks, k)
		}
	}
	return ks
}

func fieldsByKey() map[string]int {
	t := reflect.TypeOf(Config{})
	m := map[string]int{}
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("json"); k != "" && k != "-" {
			m[k] = i
		}
	}
	return m
}

// BrokerBaseURL returns the broker's base URL: BrokerURL when set, else the
// environment's.
func (c *Config) BrokerBaseURL() (*url.URL, error) {
	return spine.ResolveBaseURL(c.BrokerEnvironment, c.BrokerURL)
}

// Origins returns the parsed allow-list. Load has already validated it.
func (c *Config) Origins() origin.List {
	l, _ := origin.ParseList(c.AllowedOrigins)
	return l
}

// FrameRequestAllowed reports whether a page request may be served, given
// whether the extension said it came from a frame (protocol.Request.Frame).
// A top document always may. For a frame, an allowFrames the system file
// locked decides, whatever a browser policy told the extension; otherwise
// the extension's own check stands (its policy, else the host's value from
// the hello). The login machine calls it with each page request and
// answers ORIGIN_NOT_ALLOWED when it is false.
func (c *Config) FrameRequestAllowed(frame bool) bool {
	if !frame {
		return true
	}
	if c.Locked["allowFrames"] {
		return c.AllowFrames
	}
	return true
}

// AgentIdle returns AgentIdleSeconds as a duration; 0 means never.
func (c *Config) AgentIdle() time.Duration {
	return time.Duration(c.AgentIdleSeconds) * time.Second
}

// TicketAPIAllowed reports whether a desktop application running exe may
// use the Ticket API: the system file turned it on and, if it lists
// executables, lists this one.
func (c *Config) TicketAPIAllowed(exe string) bool {
	if !c.TicketAPIEnabled {
		return false
	}
	return len(c.TicketAPIExecutables) == 0 || (exe != "" && slices.Contains(c.TicketAPIExecutables, exe))
}

// ExtensionAllowed reports whether the extension id may start the host.
func (c *Config) ExtensionAllowed(id string) bool {
	return slices.Contains(c.AllowedExtensions, id)
}

// PINTimeout returns PINTimeoutSeconds as a duration.
func (c *Config) PINTimeout() time.Duration {
	return time.Duration(c.PINTimeoutSeconds) * time.Second
}

// BrokerTimeout returns BrokerTimeoutSeconds as a duration.
func (c *Config) BrokerTimeout() time.Duration {
	return time.Duration(c.BrokerTimeoutSeconds) * time.Second
}

// CardPollInterval returns CardPollMilliseconds as a duration.
func (c *Config) CardPollInterval() time.Duration {
	return time.Duration(c.CardPollMilliseconds) * time.Millisecond
}

// Describe writes the effective configuration, one key a line with its value
// and where it came from, then the notes: what `oia-host --print-config`
// prints.
func (c *Config) Describe() string {
	var b strings.Builder
	v := reflect.ValueOf(c).Elem()
	fields := fieldsByKey()
	for _, k := range keys() {
		val, _ := json.Marshal(v.Field(fields[k]).Interface())
		src := c.Sources[k]
		if c.Locked[k] {
			src += ", locked"
		}
		fmt.Fprintf(&b, "%-22s %s\t(%s)\n", k, val, src)
	}
	for _, k := range c.UserSecurity {
		fmt.Fprintf(&b, "warning: %s\n", c.UserSecurityWarning(k))
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}
