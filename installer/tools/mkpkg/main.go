// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Command mkpkg builds the release artefacts into one directory (make
// package runs it with go run): the .deb and .rpm, the Chrome zip, CRX3
// and update manifest, the Firefox .xpi, the signed Windows executables, the
// signed MSI (installer/msi) and SHA256SUMS. See docs/deployment.md.
package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/installer/msi"
	"github.com/openidentityagent/oia/installer/pkg"
	"github.com/openidentityagent/oia/manifests"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type options struct {
	bin, lib, out, arch, license string
	chromeDir, xpi               string
	crxKey, crxURL               string
	winBin, winCert, winKey      string
	winCA                        string
	ids                          []string
	edgeID                       string
	mtime                        time.Time
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("mkpkg", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.bin, "bin", "build/bin", "`DIR` with oia-host and oia for Linux")
	fs.StringVar(&o.lib, "lib", "build/lib", "`DIR` with libTicketApi.so for Linux (shipped when present)")
	fs.StringVar(&o.out, "out", "build/dist", "output `DIR`")
	fs.StringVar(&o.arch, "arch", "amd64", "Linux package architecture")
	fs.StringVar(&o.license, "license", "LICENSE", "license `FILE`")
	fs.StringVar(&o.chromeDir, "chrome-dir", "build/chrome", "unpacked Chrome extension `DIR` (make extension)")
	fs.StringVar(&o.xpi, "xpi", "build/oia-firefox.xpi", "Firefox .xpi `FILE` (make extension)")
	fs.StringVar(&o.crxKey, "crx-key", os.Getenv("CRX_KEY"), "PKCS#8 PEM RSA key that signs the CRX (CRX_KEY)")
	fs.StringVar(&o.crxURL, "crx-url", os.Getenv("CRX_URL"), "https `URL` the CRX is served from, for updates.xml (CRX_URL)")
	fs.StringVar(&o.winBin, "win-bin", "", "`DIR` with oia-host.exe, oia.exe, x86/TicketApiDll.dll and x64/TicketApiDll.dll to sign")
	fs.StringVar(&o.winCert, "win-cert", os.Getenv("WIN_SIGN_CERT"), "Authenticode certificate chain PEM (WIN_SIGN_CERT)")
	fs.StringVar(&o.winKey, "win-key", os.Getenv("WIN_SIGN_KEY"), "Authenticode key PEM (WIN_SIGN_KEY)")
	fs.StringVar(&o.winCA, "win-ca", os.Getenv("WIN_SIGN_CA"), "CA PEM to verify the signatures against (WIN_SIGN_CA)")
	idList := fs.String("extension-ids", os.Getenv("EXTENSION_IDS"), "comma-separated `IDS` of the extension as published and signed, written into the host manifests (EXTENSION_IDS)")
	fs.StringVar(&o.edgeID, "edge-id", os.Getenv("EDGE_EXTENSION_ID"), "the extension's `ID` in Microsoft Edge Add-ons, one of -extension-ids, which the MSI's Policy feature installs in Edge; empty: Edge installs the Chrome Web Store's (EDGE_EXTENSION_ID)")
	printID := fs.String("print-crx-id", "", "print the Chrome extension id of the PEM key `FILE` and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *printID != "" {
		key, err := pkg.ReadRSAKey(*printID)
		if err != nil {
			fmt.Fprintf(stderr, "mkpkg: %v\n", err)
			return 1
		}
		spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			fmt.Fprintf(stderr, "mkpkg: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, pkg.ExtensionID(spki))
		return 0
	}
	ids, err := releaseIDs(*idList)
	if err != nil {
		fmt.Fprintf(stderr, "mkpkg: %v\n", err)
		return 2
	}
	o.ids = ids
	if _, err := msi.Installs(ids, o.edgeID); err != nil {
		fmt.Fprintf(stderr, "mkpkg: -edge-id: %v\n", err)
		return 2
	}
	mtime, err := sourceDate()
	if err != nil {
		fmt.Fprintf(stderr, "mkpkg: %v\n", err)
		return 1
	}
	o.mtime = mtime
	if err := build(context.Background(), o, stdout); err != nil {
		fmt.Fprintf(stderr, "mkpkg: %v\n", err)
		return 1
	}
	return 0
}

// releaseIDs parses -extension-ids: at least one id, and never the
// development Chrome id, which anyone can claim by copying the public key
// in extension/static/dev-key.pub.b64 into an unpacked extension.
func releaseIDs(list string) ([]string, error) {
	var ids []string
	for _, id := range strings.Split(list, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("no -extension-ids (EXTENSION_IDS): name the ids of the extension as published and signed (docs/deployment.md)")
	}
	if slices.Contains(ids, config.ChromeDevExtensionID) {
		return nil, fmt.Errorf("-extension-ids lists the development id %s, which any unpacked extension can claim: a package carries the published ids only", config.ChromeDevExtensionID)
	}
	if _, _, err := manifests.SplitIDs(ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// sourceDate is SOURCE_DATE_EPOCH, else the last commit's time.
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		out, err := exec.Command("git", "log", "-1", "--format=%ct").Output()
		if err != nil {
			return time.Time{}, errors.New("no SOURCE_DATE_EPOCH and no git history; set SOURCE_DATE_EPOCH")
		}
		s = strings.TrimSpace(string(out))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

func build(ctx context.Context, o options, stdout io.Writer) error {
	v := oia.Version
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	var made []string
	ticketAPI := filepath.Join(o.lib, "libTicketApi.so")
	if _, err := os.Stat(ticketAPI); err != nil {
		fmt.Fprintf(stdout, "linux: %s not found, so the packages carry no Ticket API library; run 'make ticketapi'\n", ticketAPI)
		ticketAPI = ""
	}
	for _, f := range []string{"deb", "rpm"} {
		p, err := pkg.Linux(f, pkg.Options{
			Version: v, Arch: o.arch, License: o.license, MTime: o.mtime,
			Host: filepath.Join(o.bin, "oia-host"), OIA: filepath.Join(o.bin, "oia"),
			TicketAPI:    ticketAPI,
			ExtensionIDs: o.ids,
		}, o.out)
		if err != nil {
			return err
		}
		made = append(made, p)
	}

	if st, err := os.Stat(o.chromeDir); err == nil && st.IsDir() {
		z, err := pkg.ZipDir(o.chromeDir, o.mtime)
		if err != nil {
			return err
		}
		zp := filepath.Join(o.out, "oia-chrome-"+v+".zip")
		if err := os.WriteFile(zp, z, 0o644); err != nil {
			return err
		}
		made = append(made, zp)
		if o.crxKey != "" {
			key, err := pkg.ReadRSAKey(o.crxKey)
			if err != nil {
				return err
			}
			crx, id, err := pkg.CRX3(z, key)
			if err != nil {
				return err
			}
			cp := filepath.Join(o.out, "oia-chrome-"+v+".crx")
			if err := os.WriteFile(cp, crx, 0o644); err != nil {
				return err
			}
			made = append(made, cp)
			fmt.Fprintf(stdout, "crx: extension id %s\n", id)
			if !slices.Contains(o.ids, id) {
				return fmt.Errorf("the CRX's id %s is not among -extension-ids %s: the host would refuse the extension it ships with", id, strings.Join(o.ids, ","))
			}
			if o.crxURL != "" {
				xml, err := pkg.UpdateManifest(id, v, o.crxURL)
				if err != nil {
					return err
				}
				up := filepath.Join(o.out, "updates.xml")
				if err := os.WriteFile(up, xml, 0o644); err != nil {
					return err
				}
				made = append(made, up)
			} else {
				fmt.Fprintln(stdout, "crx: no CRX_URL, so no updates.xml; see docs/deployment.md")
			}
		} else {
			fmt.Fprintln(stdout, "crx: no CRX_KEY, so no .crx")
		}
	} else {
		fmt.Fprintf(stdout, "chrome: %s not found; run 'make extension'\n", o.chromeDir)
	}

	if b, err := os.ReadFile(o.xpi); err == nil {
		xp := filepath.Join(o.out, "oia-firefox-"+v+".xpi")
		if err := os.WriteFile(xp, b, 0o644); err != nil {
			return err
		}
		made = append(made, xp)
	} else {
		fmt.Fprintf(stdout, "firefox: %s not found; run 'make extension'\n", o.xpi)
	}

	if o.winBin != "" {
		if o.winCert == "" || o.winKey == "" {
			return errors.New("-win-bin needs WIN_SIGN_CERT and WIN_SIGN_KEY")
		}
		wd := filepath.Join(o.out, "windows")
		if err := os.MkdirAll(wd, 0o755); err != nil {
			return err
		}
		// The Ticket API DLL for 32- and 64-bit applications, in a folder
		// per architecture (both have the name applications load).
		for _, exe := range []string{"oia-host.exe", "oia.exe", "x86/TicketApiDll.dll", "x64/TicketApiDll.dll"} {
			dst := filepath.Join(wd, filepath.FromSlash(exe))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			os.Remove(dst)
			if err := pkg.SignExe(ctx, pkg.SignOptions{Cert: o.winCert, Key: o.winKey, Time: o.mtime}, filepath.Join(o.winBin, filepath.FromSlash(exe)), dst); err != nil {
				return err
			}
			if o.winCA != "" {
				if err := pkg.VerifyExe(ctx, dst, o.winCA); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "windows: %s signature verifies\n", exe)
			}
			made = append(made, dst)
		}
		p, err := buildMSI(ctx, o, wd, stdout)
		if err != nil {
			return err
		}
		made = append(made, p)
	}
	return writeSums(o.out, made, stdout)
}

// writeSums writes SHA256SUMS for the artefacts, sorted by name.
func writeSums(dir string, files []string, stdout io.Writer) error {
	sort.Strings(files)
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, f)
		fmt.Fprintf(&b, "%x  %s\n", sha256.Sum256(data), filepath.ToSlash(rel))
		fmt.Fprintf(stdout, "wrote %s\n", f)
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644)
}

// buildMSI packs the signed executables and DLLs in wd into the MSI, then
// signs the MSI itself with the same key and time (the package is signed
// after the files in it, as Windows checks both).
func buildMSI(ctx context.Context, o options, wd string, stdout io.Writer) (string, error) {
	tmp, err := os.MkdirTemp("", "oia-msi-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	unsigned, err := msi.Build(ctx, msi.Options{
		Version: oia.Version, Host: filepath.Join(wd, "oia-host.exe"), OIA: filepath.Join(wd, "oia.exe"),
		TicketAPI32: filepath.Join(wd, "x86", "TicketApiDll.dll"), TicketAPI64: filepath.Join(wd, "x64", "TicketApiDll.dll"),
		ExtensionIDs: o.ids, EdgeID: o.edgeID, MTime: o.mtime,
	}, tmp)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(o.out, msi.FileName(oia.Version))
	os.Remove(dst)
	if err := pkg.SignExe(ctx, pkg.SignOptions{Cert: o.winCert, Key: o.winKey, Time: o.mtime}, unsigned, dst); err != nil {
		return "", err
	}
	if o.winCA != "" {
		if err := pkg.VerifyExe(ctx, dst, o.winCA); err != nil {
			return "", err
		}
		fmt.Fprintf(stdout, "windows: %s signature verifies\n", filepath.Base(dst))
	}
	return dst, nil
}
