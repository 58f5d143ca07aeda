// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// diagnose explains why a module file that exists could not be loaded
// (miekg/pkcs11 only returns nil): not a library of this system's format,
// built for another processor, or missing C_GetFunctionList.
func diagnose(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read it: %w", err)
	}
	defer f.Close()
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil {
		return errors.New("it is not a shared library (too short): give the path of the module's .so, .dylib or .dll")
	}
	want := libraryFormat(runtime.GOOS)
	got, arch := "", ""
	switch {
	case string(magic[:]) == elf.ELFMAG:
		got = "elf"
		if ef, err := elf.NewFile(f); err == nil {
			arch = elfArch(ef)
			if ef.Type != elf.ET_DYN {
				return fmt.Errorf("it is an ELF %v, not a shared library: give the path of the module's .so", ef.Type)
			}
			if arch == runtime.GOARCH && !hasSymbol(ef, "C_GetFunctionList") {
				return errors.New("it exports no C_GetFunctionList, so it is not a PKCS#11 module: give the path of the smartcard middleware's PKCS#11 library")
			}
		}
	case magic[0] == 'M' && magic[1] == 'Z':
		got = "pe"
		if pf, err := pe.NewFile(f); err == nil {
			arch = peArch(pf.Machine)
		}
	default:
		if mf, err := macho.NewFile(f); err == nil {
			got, arch = "macho", machoArch(mf.Cpu)
		} else if ff, err := macho.NewFatFile(f); err == nil {
			got, arch = "macho", ""
			for _, a := range ff.Arches {
				if machoArch(a.Cpu) == runtime.GOARCH {
					arch = runtime.GOARCH
				}
			}
		}
	}
	switch {
	case got == "":
		return fmt.Errorf("it is not a shared library: give the path of the module's %s file", libraryExt(runtime.GOOS))
	case got != want:
		return fmt.Errorf("it is a %s library, not one for %s: install the middleware built for this system", formatName(got), runtime.GOOS)
	case arch != "" && arch != runtime.GOARCH:
		return fmt.Errorf("it is built for %s, but oia-host runs on %s: install the %s build of the middleware", arch, runtime.GOARCH, runtime.GOARCH)
	}
	return errors.New("the system refused to load it (a missing dependency, or no C_GetFunctionList): check it with 'ldd' or its installer")
}

func libraryFormat(goos string) string {
	switch goos {
	case "windows":
		return "pe"
	case "darwin", "ios":
		return "macho"
	}
	return "elf"
}

func libraryExt(goos string) string {
	switch goos {
	case "windows":
		return ".dll"
	case "darwin", "ios":
		return ".dylib"
	}
	return ".so"
}

func formatName(f string) string {
	switch f {
	case "pe":
		return "Windows (PE)"
	case "macho":
		return "macOS (Mach-O)"
	}
	return "Linux/Unix (ELF)"
}

func elfArch(f *elf.File) string {
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64"
	case elf.EM_386:
		return "386"
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_RISCV:
		return "riscv64"
	case elf.EM_PPC64:
		return "ppc64le"
	case elf.EM_S390:
		return "s390x"
	}
	return f.Machine.String()
}

func peArch(m uint16) string {
	switch m {
	case pe.IMAGE_FILE_MACHINE_AMD64:
		return "amd64"
	case pe.IMAGE_FILE_MACHINE_I386:
		return "386"
	case pe.IMAGE_FILE_MACHINE_ARM64:
		return "arm64"
	}
	return fmt.Sprintf("machine %#x", m)
}

func machoArch(c macho.Cpu) string {
	switch c {
	case macho.CpuAmd64:
		return "amd64"
	case macho.CpuArm64:
		return "arm64"
	case macho.Cpu386:
		return "386"
	}
	return c.String()
}

func hasSymbol(f *elf.File, name string) bool {
	syms, err := f.DynamicSymbols()
	if err != nil {
		return true // cannot tell; do not claim otherwise
	}
	for _, s := range syms {
		if s.Name == name && s.Section != elf.SHN_UNDEF {
			return true
		}
	}
	return false
}
