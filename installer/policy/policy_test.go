// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package policy

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// full is a policy with every option set.
func full() Settings {
	s := Defaults()
	s.UpdateURL = "https://oia.example.nhs.uk/chrome/updates.xml"
	s.InstallURL = "https://oia.example.nhs.uk/firefox/oia.xpi"
	s.AllowedOrigins = []string{"https://*.example.nhs.uk", "https://portal.nhs.uk:8443"}
	s.AllowFrames = true
	s.PINTimeoutSeconds = 90
	return s
}

var formats = []struct {
	name  string
	write func(Settings) ([]byte, error)
}{
	{"chrome.json", Chromium},
	{"firefox.json", Firefox},
	{"windows.reg", WindowsReg},
	{"oia.admx", ADMX},
	{"oia.adml", ADML},
	{"oia.mobileconfig", MobileConfig},
}

// TestGolden compares every format with its golden file and checks that it
// parses back.
func TestGolden(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			got, err := f.write(full())
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", f.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("output differs from %s (run go test -update after checking):\n%s", golden, got)
			}
			wellFormed(t, f.name, got)
		})
	}
}

func wellFormed(t *testing.T, name string, b []byte) {
	t.Helper()
	switch filepath.Ext(name) {
	case ".json":
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
	case ".reg":
		checkReg(t, b)
	default:
		var v struct {
			XMLName xml.Name
		}
		if err := xml.Unmarshal(b, &v); err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		d := xml.NewDecoder(bytes.NewReader(b))
		for {
			_, err := d.Token()
			if err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("XML: %v", err)
				}
				break
			}
		}
	}
}

var regLine = regexp.MustCompile(`^("([^"\\]|\\.)*"=("([^"\\]|\\.)*"|dword:[0-9a-f]{8})|\[HKEY_LOCAL_MACHINE\\[^\]]+\]|)$`)

func checkReg(t *testing.T, b []byte) {
	t.Helper()
	s := string(b)
	if !strings.HasPrefix(s, "Windows Registry Editor Version 5.00\r\n") {
		t.Fatal("missing the .reg header")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	for i, l := range lines[1:] {
		if strings.Contains(l, "\n") || !regLine.MatchString(l) {
			t.Errorf("line %d is not a .reg line: %q", i+2, l)
		}
	}
}

// TestChromium_Parse checks the keys that browsers and the extension read.
func TestChromium_Parse(t *testing.T) {
	b, err := Chromium(full())
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		ExtensionSettings map[string]struct {
			Mode      string `json:"installation_mode"`
			UpdateURL string `json:"update_url"`
		}
		NativeMessagingAllowlist []string
		ThirdParty               struct {
			Extensions map[string]map[string]any `json:"extensions"`
		} `json:"3rdparty"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	id := DefaultChromeID
	if p.ExtensionSettings[id].Mode != "force_installed" || p.ExtensionSettings[id].UpdateURL != full().UpdateURL {
		t.Errorf("ExtensionSettings = %+v", p.ExtensionSettings)
	}
	if len(p.NativeMessagingAllowlist) != 1 || p.NativeMessagingAllowlist[0] != "org.openidentityagent.host" {
		t.Errorf("NativeMessagingAllowlist = %v", p.NativeMessagingAllowlist)
	}
	m := p.ThirdParty.Extensions[id]
	if m["allowFrames"] != true || m["pinTimeoutSeconds"] != float64(90) || m["promptOnCardInsert"] != true || len(m["allowedOrigins"].([]any)) != 2 {
		t.Errorf("3rdparty = %v", m)
	}

	// Without --update-url the policy configures but does not install.
	s := full()
	s.UpdateURL = ""
	b, _ = Chromium(s)
	if bytes.Contains(b, []byte("ExtensionSettings")) {
		t.Error("ExtensionSettings without an update URL")
	}
}

func TestFirefox_Parse(t *testing.T) {
	b, err := Firefox(full())
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Policies struct {
			ExtensionSettings map[string]map[string]string
			ThirdParty        struct {
				Extensions map[string]map[string]any
			} `json:"3rdparty"`
		} `json:"policies"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	id := DefaultFirefoxID
	if p.Policies.ExtensionSettings[id]["install_url"] != full().InstallURL {
		t.Errorf("ExtensionSettings = %v", p.Policies.ExtensionSettings)
	}
	if p.Policies.ThirdParty.Extensions[id]["allowFrames"] != true {
		t.Errorf("3rdparty = %v", p.Policies.ThirdParty.Extensions)
	}
}

// TestADMX_Policies checks that every ADMX policy has its strings in the
// ADML, and the registry keys hold the extension id.
func TestADMX_Policies(t *testing.T) {
	admx, _ := ADMX(full())
	adml, _ := ADML(full())
	var defs struct {
		Policies []struct {
			Name        string `xml:"name,attr"`
			Key         string `xml:"key,attr"`
			DisplayName string `xml:"displayName,attr"`
		} `xml:"policies>policy"`
	}
	if err := xml.Unmarshal(admx, &defs); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Strings []struct {
			ID string `xml:"id,attr"`
		} `xml:"resources>stringTable>string"`
	}
	if err := xml.Unmarshal(adml, &res); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, s := range res.Strings {
		ids[s.ID] = true
	}
	if len(defs.Policies) != 8 {
		t.Fatalf("%d policies, want 4 settings x Chrome and Edge", len(defs.Policies))
	}
	for _, p := range defs.Policies {
		id := strings.TrimSuffix(strings.TrimPrefix(p.DisplayName, "$(string."), ")")
		if !ids[id] {
			t.Errorf("policy %s: no string %q in the ADML", p.Name, id)
		}
		if !strings.HasSuffix(p.Key, `\3rdparty\extensions\`+DefaultChromeID+`\policy`) {
			t.Errorf("policy %s: key %s", p.Name, p.Key)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Settings)
		want   string
	}{
		// Browsers refuse to fetch extensions over plain http.
		{"http update url", func(s *Settings) { s.UpdateURL = "http://x.nhs.uk/u.xml" }, "not an https URL"},
		// An origin the host would reject must not reach the extension.
		{"bad origin", func(s *Settings) { s.AllowedOrigins = []string{"ftp://x"} }, "--allowed-origin"},
		{"no origin", func(s *Settings) { s.AllowedOrigins = nil }, "no allowed origin"},
		// The extension's schema bounds the timeout.
		{"timeout too short", func(s *Settings) { s.PINTimeoutSeconds = 1 }, "out of range"},
		{"bad chrome id", func(s *Settings) { s.ChromeID = "x" }, "not a Chrome id"},
		{"bad firefox id", func(s *Settings) { s.FirefoxID = "x" }, "not a Firefox id"},
		// The organisation is pasted into XML.
		{"xml in organization", func(s *Settings) { s.Organization = "<x>" }, "plain text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := full()
			tt.change(&s)
			_, err := Chromium(s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestManagedValues checks the per-extension keys the MSI's Policy feature
// writes: the same keys and value shapes as WindowsReg, for each id, and
// only the settings asked for.
func TestManagedValues(t *testing.T) {
	const chrome, edge, ff = "abcdefghijklmnopabcdefghijklmnop", "ponmlkjihgfedcbaponmlkjihgfedcba", "x@example.org"
	s := Defaults()
	s.AllowedOrigins = []string{"https://*.example.nhs.uk", "https://portal.nhs.uk:8443"}
	origins := func(key string) []RegValue {
		return []RegValue{{key + `\allowedOrigins`, "1", "https://*.example.nhs.uk"}, {key + `\allowedOrigins`, "2", "https://portal.nhs.uk:8443"}}
	}
	for _, c := range []struct {
		reason string
		ids    []string
		keys   []string
		want   []ManagedKey
		err    string
	}{
		{"a Chrome id is configured in Chrome and Edge, a Firefox id in Firefox; a list is a key of numbered values",
			[]string{chrome, ff}, []string{"allowedOrigins"}, []ManagedKey{
				{"Chrome", `Software\Policies\Google\Chrome\3rdparty\extensions\` + chrome, origins(`Software\Policies\Google\Chrome\3rdparty\extensions\` + chrome + `\policy`)},
				{"Edge", `Software\Policies\Microsoft\Edge\3rdparty\extensions\` + chrome, origins(`Software\Policies\Microsoft\Edge\3rdparty\extensions\` + chrome + `\policy`)},
				{"Firefox", `Software\Policies\Mozilla\Firefox\3rdparty\Extensions\` + ff, origins(`Software\Policies\Mozilla\Firefox\3rdparty\Extensions\` + ff)},
			}, ""},
		{"every Chromium id of the build gets its own key (the Web Store's and Edge Add-ons' ids differ)",
			[]string{chrome, edge}, []string{"pinTimeoutSeconds"}, []ManagedKey{
				{"Chrome", `Software\Policies\Google\Chrome\3rdparty\extensions\` + chrome, []RegValue{{`Software\Policies\Google\Chrome\3rdparty\extensions\` + chrome + `\policy`, "pinTimeoutSeconds", uint32(120)}}},
				{"Edge", `Software\Policies\Microsoft\Edge\3rdparty\extensions\` + chrome, []RegValue{{`Software\Policies\Microsoft\Edge\3rdparty\extensions\` + chrome + `\policy`, "pinTimeoutSeconds", uint32(120)}}},
				{"Chrome", `Software\Policies\Google\Chrome\3rdparty\extensions\` + edge, []RegValue{{`Software\Policies\Google\Chrome\3rdparty\extensions\` + edge + `\policy`, "pinTimeoutSeconds", uint32(120)}}},
				{"Edge", `Software\Policies\Microsoft\Edge\3rdparty\extensions\` + edge, []RegValue{{`Software\Policies\Microsoft\Edge\3rdparty\extensions\` + edge + `\policy`, "pinTimeoutSeconds", uint32(120)}}},
			}, ""},
		{"a setting the schema does not declare is refused, not written", []string{chrome}, []string{"allowedOrigin"}, nil, `no managed setting "allowedOrigin"`},
		{"an id that is neither Chrome's nor Firefox's is refused", []string{"nope"}, []string{"allowedOrigins"}, nil, "neither a Chrome id"},
	} {
		got, err := ManagedValues(s, c.ids, c.keys...)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err = %v, want %q", c.reason, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.reason, err)
			continue
		}
		if g, w := fmt.Sprintf("%q", got), fmt.Sprintf("%q", c.want); g != w {
			t.Errorf("%s:\n got %s\nwant %s", c.reason, g, w)
		}
	}
}

// TestManagedValues_SameAsReg checks that the managed settings are the
// values the .reg file writes for the same extension, so the MSI and
// `oia policy windows` cannot drift apart.
func TestManagedValues_SameAsReg(t *testing.T) {
	s := full()
	all, err := WindowsValues(s)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := ManagedValues(s, []string{s.ChromeID, s.FirefoxID}, "allowedOrigins", "allowFrames", "promptOnCardInsert", "pinTimeoutSeconds")
	if err != nil {
		t.Fatal(err)
	}
	var want []RegValue
	for _, v := range all {
		if strings.Contains(v.Key, `\3rdparty\`) {
			want = append(want, v)
		}
	}
	var got []RegValue
	for _, m := range mk {
		got = append(got, m.Values...)
	}
	if g, w := fmt.Sprintf("%q", got), fmt.Sprintf("%q", want); g != w {
		t.Errorf("managed values differ from the .reg file's 3rdparty values:\n got %s\nwant %s", g, w)
	}
}
