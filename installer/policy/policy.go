// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package policy writes the enterprise policies an IT team deploys for Open
// Identity Agent: the browsers' own policies that force-install the
// extension and allow its native host, and the extension's managed settings
// (the "3rdparty" block that reaches storage.managed).
//
// One [Settings] value feeds every format: Chromium-family JSON
// ([Chromium]), Firefox policies.json ([Firefox]), a Windows .reg file
// ([WindowsReg]), an ADMX/ADML template pair ([ADMX], [ADML]) and a macOS
// configuration profile ([MobileConfig]). docs/deployment.md says where each
// goes.
//
// # Managed keys
//
// The extension reads these keys from storage.managed (the extension's
// managed_schema.json declares them): allowedOrigins (list of origin
// patterns), allowFrames (boolean), promptOnCardInsert (boolean) and
// pinTimeoutSeconds (integer, 10 to 600).
package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"text/template"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/origin"
	"github.com/openidentityagent/oia/host/protocol"
	"github.com/openidentityagent/oia/manifests"
)

// Defaults of the managed settings; the same as the host's configuration
// defaults.
const (
	DefaultChromeID          = "jojkkadnmnpkbklmagcdhigmbdlcaoha"
	DefaultFirefoxID         = "identity-agent@openidentityagent.org"
	DefaultPINTimeoutSeconds = 120
	// The timeout's bounds are the protocol's: the host refuses others.
	MinPINTimeoutSeconds = protocol.MinPINTimeoutSeconds
	MaxPINTimeoutSeconds = protocol.MaxPINTimeoutSeconds
)

// DefaultAllowedOrigins is the origin allow-list when none is given.
var DefaultAllowedOrigins = []string{"https://*.nhs.uk"}

// Settings are what the policies say.
type Settings struct {
	// ChromeID is the extension id in Chrome and Edge.
	ChromeID string
	// FirefoxID is the add-on id in Firefox.
	FirefoxID string
	// UpdateURL is the Chromium-family update manifest (gupdate XML) of the
	// self-hosted CRX; empty means the policy does not install the
	// extension, only configures it.
	UpdateURL string
	// InstallURL is the Firefox .xpi's URL; empty means the policy does not
	// install the add-on.
	InstallURL         string
	AllowedOrigins     []string
	AllowFrames        bool
	PromptOnCardInsert bool
	PINTimeoutSeconds  int
	// Organization names the trust in the macOS profile.
	Organization string
}

// Defaults returns the settings used when no flag changes them.
func Defaults() Settings {
	return Settings{
		ChromeID: DefaultChromeID, FirefoxID: DefaultFirefoxID,
		AllowedOrigins: DefaultAllowedOrigins, PromptOnCardInsert: true,
		PINTimeoutSeconds: DefaultPINTimeoutSeconds, Organization: "NHS",
	}
}

// Validate checks every field, so that a policy is never written that a
// browser would reject or ignore.
func (s Settings) Validate() error {
	if !manifests.IsChromeID(s.ChromeID) {
		return fmt.Errorf("extension id %q is not a Chrome id (32 letters a-p); check --extension-id", s.ChromeID)
	}
	if !manifests.IsFirefoxID(s.FirefoxID) {
		return fmt.Errorf("add-on id %q is not a Firefox id (name@domain or {guid}); check --extension-id", s.FirefoxID)
	}
	for _, u := range []struct{ flag, v string }{{"--update-url", s.UpdateURL}, {"--install-url", s.InstallURL}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || p.Scheme != "https" || p.Host == "" {
			return fmt.Errorf("%s %q is not an https URL; browsers fetch extensions only over https", u.flag, u.v)
		}
	}
	if len(s.AllowedOrigins) == 0 {
		return fmt.Errorf("no allowed origin; pass --allowed-origin https://*.your-trust.nhs.uk")
	}
	if _, err := origin.ParseList(s.AllowedOrigins); err != nil {
		return fmt.Errorf("%v; check --allowed-origin", err)
	}
	if s.PINTimeoutSeconds < MinPINTimeoutSeconds || s.PINTimeoutSeconds > MaxPINTimeoutSeconds {
		return fmt.Errorf("--pin-timeout %d is out of range; use %d to %d seconds", s.PINTimeoutSeconds, MinPINTimeoutSeconds, MaxPINTimeoutSeconds)
	}
	if strings.ContainsAny(s.Organization, "<>&\"") || len(s.Organization) > 200 {
		return fmt.Errorf("organization %q must be plain text under 200 characters", s.Organization)
	}
	return nil
}

// managed is the extension's managed settings, as storage.managed sees them.
func (s Settings) managed() map[string]any {
	return map[string]any{
		"allowedOrigins":     s.AllowedOrigins,
		"allowFrames":        s.AllowFrames,
		"promptOnCardInsert": s.PromptOnCardInsert,
		"pinTimeoutSeconds":  s.PINTimeoutSeconds,
	}
}

// chromiumPolicy is the Chromium-family policy as a tree: the same keys go
// into the Linux JSON, the Windows registry and the macOS profile.
func (s Settings) chromiumPolicy() map[string]any {
	p := map[string]any{
		"NativeMessagingAllowlist": []string{manifests.HostName},
		"3rdparty": map[string]any{
			"extensions": map[string]any{s.ChromeID: s.managed()},
		},
	}
	if s.UpdateURL != "" {
		p["ExtensionSettings"] = s.extensionSettings()
	}
	return p
}

func (s Settings) extensionSettings() map[string]any {
	return map[string]any{s.ChromeID: map[string]any{
		"installation_mode": "force_installed",
		"update_url":        s.UpdateURL,
	}}
}

func (s Settings) firefoxPolicy() map[string]any {
	p := map[string]any{
		"3rdparty": map[string]any{
			"Extensions": map[string]any{s.FirefoxID: s.managed()},
		},
	}
	if s.InstallURL != "" {
		p["ExtensionSettings"] = map[string]any{s.FirefoxID: map[string]any{
			"installation_mode": "force_installed",
			"install_url":       s.InstallURL,
		}}
	}
	return p
}

func marshal(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Chromium returns the policy JSON for Chrome, Chromium, Edge or Brave on
// Linux: a file in /etc/opt/chrome/policies/managed/ (and the other
// browsers' managed directories).
func Chromium(s Settings) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return marshal(s.chromiumPolicy())
}

// Firefox returns policies.json for Firefox and Firefox ESR.
func Firefox(s Settings) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return marshal(map[string]any{"policies": s.firefoxPolicy()})
}

// regBrowsers are the browsers the Windows formats cover.
var regBrowsers = []struct{ ID, Title, Key string }{
	{"Chrome", "Google Chrome", `Software\Policies\Google\Chrome`},
	{"Edge", "Microsoft Edge", `Software\Policies\Microsoft\Edge`},
}

// WindowsReg returns a .reg file that sets the Chrome, Edge and Firefox
// policies under HKLM\Software\Policies: ExtensionSettings as a JSON
// string, NativeMessagingAllowlist as a list key, and the extension's
// 3rdparty values. It is the quick path for a few machines; Group Policy
// and Intune use the ADMX. The values are [WindowsValues].
func WindowsReg(s Settings) ([]byte, error) {
	vs, err := WindowsValues(s)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("Windows Registry Editor Version 5.00\r\n")
	key := ""
	for _, v := range vs {
		if v.Key != key {
			key = v.Key
			b.WriteString("\r\n[HKEY_LOCAL_MACHINE\\" + key + "]\r\n")
		}
		b.WriteString(regString(v.Name) + "=" + v.regData() + "\r\n")
	}
	return b.Bytes(), nil
}

// RegValue is one registry value a Windows policy sets under
// HKEY_LOCAL_MACHINE.
type RegValue struct {
	// Key is the key's path under HKEY_LOCAL_MACHINE.
	Key string
	// Name is the value's name.
	Name string
	// Value is a string (REG_SZ) or a uint32 (REG_DWORD).
	Value any
}

func (v RegValue) regData() string {
	if d, ok := v.Value.(uint32); ok {
		return fmt.Sprintf("dword:%08x", d)
	}
	return regString(fmt.Sprint(v.Value))
}

// WindowsValues returns the values [WindowsReg] writes, in its order: for
// Chrome and Edge, ExtensionSettings (with an update URL), the
// native-messaging allow-list and the extension's managed settings; for
// Firefox, ExtensionSettings (with an install URL) and the add-on's managed
// settings.
func WindowsValues(s Settings) ([]RegValue, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var vs []RegValue
	for _, b := range regBrowsers {
		if s.UpdateURL != "" {
			es, _ := json.Marshal(s.extensionSettings())
			vs = append(vs, RegValue{b.Key, "ExtensionSettings", string(es)})
		}
		vs = append(vs, RegValue{b.Key + `\NativeMessagingAllowlist`, "1", manifests.HostName})
		vs = append(vs, regTree(b.Key+`\3rdparty\extensions\`+s.ChromeID+`\policy`, s.managed())...)
	}
	if s.InstallURL != "" {
		es, _ := json.Marshal(s.firefoxPolicy()["ExtensionSettings"])
		vs = append(vs, RegValue{firefoxRegKey, "ExtensionSettings", string(es)})
	}
	vs = append(vs, regTree(firefoxRegKey+`\3rdparty\Extensions\`+s.FirefoxID, s.managed())...)
	return vs, nil
}

const firefoxRegKey = `Software\Policies\Mozilla\Firefox`

// ManagedKey is the key of one extension's managed settings in one
// browser's policy: nothing but that extension reads or writes under it.
type ManagedKey struct {
	// Browser is Chrome, Edge or Firefox.
	Browser string
	// Key is the path under HKEY_LOCAL_MACHINE, ending in the extension id.
	Key string
	// Values are the key's values (the settings are under Key\policy for
	// Chrome and Edge).
	Values []RegValue
}

// ManagedValues returns the managed settings named by keys (the keys of
// the extension's managed_schema.json, such as allowedOrigins) as each
// browser's policy reads them: for every Chrome id in Chrome and Edge, for
// every Firefox add-on id in Firefox. The values are the ones [WindowsReg]
// writes for them; the other policies (ExtensionSettings, the allow-list)
// are values other products share, so they are not here.
func ManagedValues(s Settings, ids []string, keys ...string) ([]ManagedKey, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	chrome, firefox, err := manifests.SplitIDs(ids)
	if err != nil {
		return nil, err
	}
	all := s.managed()
	m := map[string]any{}
	for _, k := range keys {
		v, ok := all[k]
		if !ok {
			return nil, fmt.Errorf("no managed setting %q; use one of %s", k, strings.Join(sortedKeys(all), ", "))
		}
		m[k] = v
	}
	var mk []ManagedKey
	for _, id := range chrome {
		for _, b := range regBrowsers {
			k := b.Key + `\3rdparty\extensions\` + id
			mk = append(mk, ManagedKey{b.ID, k, regTree(k+`\policy`, m)})
		}
	}
	for _, id := range firefox {
		k := firefoxRegKey + `\3rdparty\Extensions\` + id
		mk = append(mk, ManagedKey{"Firefox", k, regTree(k, m)})
	}
	return mk, nil
}

func regString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// regTree returns a map's scalars as values of key (booleans and integers
// as DWORDs) and its lists as subkeys with values "1", "2", ... (how
// Chrome and Firefox read lists).
func regTree(key string, m map[string]any) []RegValue {
	var vs, lists []RegValue
	for _, k := range sortedKeys(m) {
		switch v := m[k].(type) {
		case []string:
			for i, s := range v {
				lists = append(lists, RegValue{key + `\` + k, fmt.Sprint(i + 1), s})
			}
		case bool:
			n := uint32(0)
			if v {
				n = 1
			}
			vs = append(vs, RegValue{key, k, n})
		case int:
			vs = append(vs, RegValue{key, k, uint32(v)})
		default:
			vs = append(vs, RegValue{key, k, fmt.Sprint(v)})
		}
	}
	return append(vs, lists...)
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

type admxData struct {
	Version  string
	Browsers []struct{ ID, Title, Key string }
}

func (s Settings) admxData() admxData {
	d := admxData{Version: oia.Version}
	for _, b := range regBrowsers {
		b.Key += `\3rdparty\extensions\` + s.ChromeID + `\policy`
		d.Browsers = append(d.Browsers, b)
	}
	return d
}

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"uuid":  stableUUID,
	"plist": plist,
}).ParseFS(manifests.FS, "policy/*.tmpl"))

func render(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ADMX returns oia.admx: Group Policy settings for the extension's managed
// keys in Chrome and Edge (Computer Configuration > Administrative
// Templates > Open Identity Agent). The extension id is part of the
// registry keys, so the template is generated for one id.
func ADMX(s Settings) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return render("oia.admx.tmpl", s.admxData())
}

// ADML returns the en-US strings for [ADMX] (PolicyDefinitions\en-US\oia.adml).
func ADML(s Settings) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return render("oia.adml.tmpl", s.admxData())
}

type payload struct {
	Type, Name string
	Content    map[string]any
}

// MobileConfig returns a macOS configuration profile with payloads for
// com.google.Chrome and com.microsoft.Edge (install and host allow-list),
// their extensions.<id> managed-storage domains, and org.mozilla.firefox.
// The UUIDs derive from the payload types, so regenerating the profile
// updates the installed one instead of adding a second.
func MobileConfig(s Settings) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	browser := map[string]any{"NativeMessagingAllowlist": []string{manifests.HostName}}
	if s.UpdateURL != "" {
		browser["ExtensionSettings"] = s.extensionSettings()
	}
	ff := s.firefoxPolicy()
	ff["EnterprisePoliciesEnabled"] = true
	data := struct {
		Payloads     []payload
		Organization string
	}{
		Payloads: []payload{
			{"com.google.Chrome", "Google Chrome", browser},
			{"com.google.Chrome.extensions." + s.ChromeID, "Open Identity Agent (Chrome)", s.managed()},
			{"com.microsoft.Edge", "Microsoft Edge", browser},
			{"com.microsoft.Edge.extensions." + s.ChromeID, "Open Identity Agent (Edge)", s.managed()},
			{"org.mozilla.firefox", "Firefox", ff},
		},
		Organization: s.Organization,
	}
	return render("oia.mobileconfig.tmpl", data)
}

// stableUUID derives a UUID (version 5 layout) from a name.
func stableUUID(name string) string {
	h := sha256.Sum256([]byte("org.openidentityagent.policy/" + name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]))
}

// plist writes the keys of m as plist XML, indented by n spaces.
func plist(m map[string]any, n int) (string, error) {
	var b strings.Builder
	if err := plistDict(&b, m, n); err != nil {
		return "", err
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

func plistDict(b *strings.Builder, m map[string]any, n int) error {
	pad := strings.Repeat(" ", n)
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(b, "%s<key>%s</key>\n", pad, xmlEscape(k))
		if err := plistValue(b, m[k], n); err != nil {
			return err
		}
	}
	return nil
}

func plistValue(b *strings.Builder, v any, n int) error {
	pad := strings.Repeat(" ", n)
	switch v := v.(type) {
	case string:
		fmt.Fprintf(b, "%s<string>%s</string>\n", pad, xmlEscape(v))
	case bool:
		fmt.Fprintf(b, "%s<%t/>\n", pad, v)
	case int:
		fmt.Fprintf(b, "%s<integer>%d</integer>\n", pad, v)
	case []string:
		fmt.Fprintf(b, "%s<array>\n", pad)
		for _, s := range v {
			fmt.Fprintf(b, "%s  <string>%s</string>\n", pad, xmlEscape(s))
		}
		fmt.Fprintf(b, "%s</array>\n", pad)
	case map[string]any:
		fmt.Fprintf(b, "%s<dict>\n", pad)
		if err := plistDict(b, v, n+2); err != nil {
			return err
		}
		fmt.Fprintf(b, "%s</dict>\n", pad)
	default:
		return fmt.Errorf("no plist form for %T", v)
	}
	return nil
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
