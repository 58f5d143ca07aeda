// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package register

import "github.com/openidentityagent/oia/manifests"

// Location is one row of the table of where a browser on one OS reads host
// manifests and how to tell that it is installed. Paths use / and these
// prefixes, expanded by [Options]:
//
//   - "~/" the user's home (--home)
//   - "{config}/" $XDG_CONFIG_HOME, else ~/.config (Linux Chromium family)
//   - "%NAME%/" a Windows environment variable such as %LOCALAPPDATA%
//   - "{hostdir}/" the directory holding oia-host
//   - "/" an absolute path, under --root when one is given
type Location struct {
	// Browser is the short name used by --browser: chrome, chromium, edge,
	// brave, vivaldi or firefox.
	Browser string
	// Title is the browser's name for people.
	Title string
	// OS is a GOOS value: linux, darwin or windows.
	OS     string
	Family manifests.Family
	// UserDirs and SystemDirs are the directories the manifest is written
	// to for a per-user and a system-wide registration. The first one is
	// always written; later ones only where their parent directory already
	// exists (for example /usr/lib64/mozilla on RPM distributions).
	UserDirs, SystemDirs []string
	// RegistryKey is, on Windows, the key under HKCU (user) or HKLM (system)
	// that holds one subkey per host whose default value is the manifest's
	// path.
	RegistryKey string
	// Detect lists paths whose existence shows the browser is installed.
	Detect []Probe
	// Policies are where the browser's managed policy lives, for doctor:
	// on Linux, directories of *.json files (Chromium family) or
	// policies.json files (Firefox); on Windows, the key under HKLM and
	// HKCU. Empty where doctor cannot read it (macOS profiles).
	Policies []string
}

// Probe is one path that shows a browser is installed, and whether that
// installation runs in a sandbox that cannot start native hosts directly.
type Probe struct {
	Path string
	// Sandbox is "", "snap" or "flatpak".
	Sandbox string
}

func native(paths ...string) []Probe {
	ps := make([]Probe, len(paths))
	for i, p := range paths {
		ps[i] = Probe{Path: p}
	}
	return ps
}

func snap(name string) Probe { return Probe{Path: "/snap/bin/" + name, Sandbox: "snap"} }

func flatpak(appID string) []Probe {
	return []Probe{
		{Path: "/var/lib/flatpak/app/" + appID, Sandbox: "flatpak"},
		{Path: "~/.local/share/flatpak/app/" + appID, Sandbox: "flatpak"},
	}
}

func probes(groups ...[]Probe) []Probe {
	var all []Probe
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}

// Locations is the one table of where each supported browser reads host
// manifests, per OS. Sources: the Chrome, Edge and MDN native-messaging
// pages and peers' installers, as docs/references.md ("Native messaging:
// manifest locations", "Native messaging: Windows registry") gives them
// (docs/installer.md lists which rows are verified).
var Locations = []Location{
	// Linux. Chromium-family user dirs sit in the browser's user-data dir.
	{Browser: "chrome", Title: "Google Chrome", OS: "linux", Family: manifests.Chromium,
		UserDirs:   []string{"{config}/google-chrome/NativeMessagingHosts"},
		SystemDirs: []string{"/etc/opt/chrome/native-messaging-hosts"},
		Detect: probes(native("/opt/google/chrome/chrome", "/usr/bin/google-chrome-stable", "/usr/bin/google-chrome"),
			flatpak("com.google.Chrome")),
		Policies: []string{"/etc/opt/chrome/policies/managed"}},
	{Browser: "chromium", Title: "Chromium", OS: "linux", Family: manifests.Chromium,
		UserDirs:   []string{"{config}/chromium/NativeMessagingHosts"},
		SystemDirs: []string{"/etc/chromium/native-messaging-hosts", "/etc/chromium-browser/native-messaging-hosts"},
		Detect: probes(native("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/lib64/chromium-browser/chromium-browser"),
			[]Probe{snap("chromium")}, flatpak("org.chromium.Chromium")),
		Policies: []string{"/etc/chromium/policies/managed", "/etc/chromium-browser/policies/managed"}},
	{Browser: "edge", Title: "Microsoft Edge", OS: "linux", Family: manifests.Chromium,
		UserDirs:   []string{"{config}/microsoft-edge/NativeMessagingHosts"},
		SystemDirs: []string{"/etc/opt/edge/native-messaging-hosts"},
		Detect: probes(native("/opt/microsoft/msedge/msedge", "/usr/bin/microsoft-edge-stable", "/usr/bin/microsoft-edge"),
			flatpak("com.microsoft.Edge")),
		Policies: []string{"/etc/opt/edge/policies/managed"}},
	{Browser: "brave", Title: "Brave", OS: "linux", Family: manifests.Chromium,
		UserDirs:   []string{"{config}/BraveSoftware/Brave-Browser/NativeMessagingHosts"},
		SystemDirs: []string{"/etc/opt/brave/native-messaging-hosts", "/etc/brave/native-messaging-hosts"},
		Detect: probes(native("/opt/brave.com/brave/brave", "/usr/bin/brave-browser"),
			[]Probe{snap("brave")}, flatpak("com.brave.Browser")),
		Policies: []string{"/etc/brave/policies/managed"}},
	{Browser: "vivaldi", Title: "Vivaldi", OS: "linux", Family: manifests.Chromium,
		UserDirs:   []string{"{config}/vivaldi/NativeMessagingHosts"},
		SystemDirs: []string{"/etc/opt/vivaldi/native-messaging-hosts"},
		Detect: probes(native("/opt/vivaldi/vivaldi", "/usr/bin/vivaldi-stable", "/usr/bin/vivaldi"),
			flatpak("com.vivaldi.Vivaldi")),
		Policies: []string{"/etc/opt/vivaldi/policies/managed"}},
	{Browser: "firefox", Title: "Firefox", OS: "linux", Family: manifests.Firefox,
		// Still ~/.mozilla after Firefox 147's XDG move (bug 1955255).
		UserDirs: []string{"~/.mozilla/native-messaging-hosts"},
		// Firefox reads /usr/lib64/mozilla when built with a lib64 libdir.
		SystemDirs: []string{"/usr/lib/mozilla/native-messaging-hosts", "/usr/lib64/mozilla/native-messaging-hosts"},
		Detect: probes(native("/usr/lib/firefox-esr/firefox-esr", "/usr/lib/firefox/firefox", "/usr/lib64/firefox/firefox",
			"/opt/firefox/firefox", "/usr/bin/firefox-esr"),
			[]Probe{snap("firefox")}, flatpak("org.mozilla.firefox")),
		Policies: []string{"/etc/firefox/policies/policies.json", "/usr/lib/firefox-esr/distribution/policies.json", "/usr/lib/firefox/distribution/policies.json"}},

	// macOS.
	{Browser: "chrome", Title: "Google Chrome", OS: "darwin", Family: manifests.Chromium,
		UserDirs:   []string{"~/Library/Application Support/Google/Chrome/NativeMessagingHosts"},
		SystemDirs: []string{"/Library/Google/Chrome/NativeMessagingHosts"},
		Detect:     native("/Applications/Google Chrome.app", "~/Applications/Google Chrome.app")},
	{Browser: "chromium", Title: "Chromium", OS: "darwin", Family: manifests.Chromium,
		UserDirs:   []string{"~/Library/Application Support/Chromium/NativeMessagingHosts"},
		SystemDirs: []string{"/Library/Application Support/Chromium/NativeMessagingHosts"},
		Detect:     native("/Applications/Chromium.app", "~/Applications/Chromium.app")},
	{Browser: "edge", Title: "Microsoft Edge", OS: "darwin", Family: manifests.Chromium,
		UserDirs:   []string{"~/Library/Application Support/Microsoft Edge/NativeMessagingHosts"},
		SystemDirs: []string{"/Library/Microsoft/Edge/NativeMessagingHosts"},
		Detect:     native("/Applications/Microsoft Edge.app", "~/Applications/Microsoft Edge.app")},
	{Browser: "brave", Title: "Brave", OS: "darwin", Family: manifests.Chromium,
		UserDirs:   []string{"~/Library/Application Support/BraveSoftware/Brave-Browser/NativeMessagingHosts"},
		SystemDirs: []string{"/Library/Application Support/BraveSoftware/Brave-Browser/NativeMessagingHosts"},
		Detect:     native("/Applications/Brave Browser.app", "~/Applications/Brave Browser.app")},
	{Browser: "vivaldi", Title: "Vivaldi", OS: "darwin", Family: manifests.Chromium,
		UserDirs:   []string{"~/Library/Application Support/Vivaldi/NativeMessagingHosts"},
		SystemDirs: []string{"/Library/Application Support/Vivaldi/NativeMessagingHosts"},
		Detect:     native("/Applications/Vivaldi.app", "~/Applications/Vivaldi.app")},
	{Browser: "firefox", Title: "Firefox", OS: "darwin", Family: manifests.Firefox,
		UserDirs:   []string{"~/Library/Application Support/Mozilla/NativeMessagingHosts"},
		SystemDirs: []string{"/Library/Application Support/Mozilla/NativeMessagingHosts"},
		Detect:     native("/Applications/Firefox.app", "~/Applications/Firefox.app")},

	// Windows: the manifest file lives in our own folder; the browser finds
	// it through the registry key's default value.
	{Browser: "chrome", Title: "Google Chrome", OS: "windows", Family: manifests.Chromium,
		UserDirs:    []string{"%LOCALAPPDATA%/OpenIdentityAgent/NativeMessagingHosts/chrome"},
		SystemDirs:  []string{"{hostdir}/NativeMessagingHosts/chrome"},
		RegistryKey: `Software\Google\Chrome\NativeMessagingHosts`,
		Detect: native("%ProgramFiles%/Google/Chrome/Application/chrome.exe",
			"%ProgramFiles(x86)%/Google/Chrome/Application/chrome.exe",
			"%LOCALAPPDATA%/Google/Chrome/Application/chrome.exe"),
		Policies: []string{`Software\Policies\Google\Chrome`}},
	{Browser: "chromium", Title: "Chromium", OS: "windows", Family: manifests.Chromium,
		UserDirs:    []string{"%LOCALAPPDATA%/OpenIdentityAgent/NativeMessagingHosts/chromium"},
		SystemDirs:  []string{"{hostdir}/NativeMessagingHosts/chromium"},
		RegistryKey: `Software\Chromium\NativeMessagingHosts`,
		Detect: native("%LOCALAPPDATA%/Chromium/Application/chrome.exe",
			"%ProgramFiles%/Chromium/Application/chrome.exe"),
		Policies: []string{`Software\Policies\Chromium`}},
	{Browser: "edge", Title: "Microsoft Edge", OS: "windows", Family: manifests.Chromium,
		UserDirs:    []string{"%LOCALAPPDATA%/OpenIdentityAgent/NativeMessagingHosts/edge"},
		SystemDirs:  []string{"{hostdir}/NativeMessagingHosts/edge"},
		RegistryKey: `Software\Microsoft\Edge\NativeMessagingHosts`,
		Detect: native("%ProgramFiles(x86)%/Microsoft/Edge/Application/msedge.exe",
			"%ProgramFiles%/Microsoft/Edge/Application/msedge.exe"),
		Policies: []string{`Software\Policies\Microsoft\Edge`}},
	{Browser: "brave", Title: "Brave", OS: "windows", Family: manifests.Chromium,
		UserDirs:    []string{"%LOCALAPPDATA%/OpenIdentityAgent/NativeMessagingHosts/brave"},
		SystemDirs:  []string{"{hostdir}/NativeMessagingHosts/brave"},
		RegistryKey: `Software\BraveSoftware\Brave-Browser\NativeMessagingHosts`,
		Detect: native("%ProgramFiles%/BraveSoftware/Brave-Browser/Application/brave.exe",
			"%LOCALAPPDATA%/BraveSoftware/Brave-Browser/Application/brave.exe"),
		Policies: []string{`Software\Policies\BraveSoftware\Brave`}},
	{Browser: "vivaldi", Title: "Vivaldi", OS: "windows", Family: manifests.Chromium,
		UserDirs:    []string{"%LOCALAPPDATA%/OpenIdentityAgent/NativeMessagingHosts/vivaldi"},
		SystemDirs:  []string{"{hostdir}/NativeMessagingHosts/vivaldi"},
		RegistryKey: `Software\Vivaldi\NativeMessagingHosts`,
		Detect: native("%LOCALAPPDATA%/Vivaldi/Application/vivaldi.exe",
			"%ProgramFiles%/Vivaldi/Application/vivaldi.exe")},
	{Browser: "firefox", Title: "Firefox", OS: "windows", Family: manifests.Firefox,
		UserDirs:    []string{"%LOCALAPPDATA%/OpenIdentityAgent/NativeMessagingHosts/firefox"},
		SystemDirs:  []string{"{hostdir}/NativeMessagingHosts/firefox"},
		RegistryKey: `Software\Mozilla\NativeMessagingHosts`,
		Detect: native("%ProgramFiles%/Mozilla Firefox/firefox.exe",
			"%ProgramFiles(x86)%/Mozilla Firefox/firefox.exe"),
		Policies: []string{`Software\Policies\Mozilla\Firefox`}},
}

// Browsers lists the short browser names, in table order.
func Browsers() []string {
	var names []string
	seen := map[string]bool{}
	for _, l := range Locations {
		if !seen[l.Browser] {
			seen[l.Browser] = true
			names = append(names, l.Browser)
		}
	}
	return names
}
