#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages that building and testing OIA need, only where
# missing. As root it runs apt-get; otherwise it prints the one command the
# user must run and exits 1.
set -euo pipefail

# The Debian packages, by what needs them. `scripts/deps.sh GROUP...`
# installs the groups named (default: all of them): make build asks only for
# the toolchain, make test for what the tests drive as well.
BUILD=(
	gcc libc6-dev make pkg-config          # cgo for miekg/pkcs11, the virtual card module, libTicketApi.so
	libssl-dev                             # the virtual card module's RSA
	zip unzip                              # extension archives
	nodejs npm                             # the extension's build (skipped when node is already on PATH)
)
CARDS=(
	softhsm2 opensc p11-kit p11-kit-modules gnutls-bin   # real PKCS#11 modules and tools
	opensc-pkcs11 pcscd vsmartcard-vpcd iproute2         # the real card stack with the virtual PIV card (e2e/pivcard)
	openssl                                # verifies what the host signs
)
BROWSERS=(
	chromium firefox-esr                   # end-to-end tests and the demo
	libnss3-tools                          # certutil: the e2e browsers trust the test root through NSS
)
WINDOWS=(
	gcc-mingw-w64-x86-64 osslsigncode      # Windows binaries, Authenticode
	gcc-mingw-w64-i686                     # the 32-bit TicketApiDll.dll (legacy applications)
	msitools wixl                          # the MSI: wixl builds it, msiinfo/msiextract inspect it
)
# Runs the Windows tests (e2e/windows). 64-bit only: Debian's wine32 needs
# the i386 architecture, whose libraries must match the installed amd64
# ones version for version (docs/installer.md, "Tested under Wine"), so the
# x86 DLL's run under Wine skips unless wine32 is installed by hand.
WINE=(wine64)
TERMINAL=(tmux)                        # drives 'oia login' in a terminal test
DOCS=(graphviz)                        # make docs: the state-machine picture (optional there)

PACKAGES=()
[ $# -gt 0 ] || set -- all
for group in "$@"; do
	case "$group" in
	build) PACKAGES+=("${BUILD[@]}") ;;
	test) PACKAGES+=("${BUILD[@]}" "${CARDS[@]}" "${BROWSERS[@]}" "${WINDOWS[@]}" "${WINE[@]}" "${TERMINAL[@]}") ;;
	demo) PACKAGES+=("${BUILD[@]}" "${CARDS[@]}" "${BROWSERS[@]}") ;;
	package) PACKAGES+=("${BUILD[@]}" "${WINDOWS[@]}") ;;
	docs) PACKAGES+=("${DOCS[@]}") ;;
	all) PACKAGES+=("${BUILD[@]}" "${CARDS[@]}" "${BROWSERS[@]}" "${WINDOWS[@]}" "${WINE[@]}" "${TERMINAL[@]}" "${DOCS[@]}") ;;
	*) echo "deps.sh: unknown group $group: use build, test, demo, package, docs or all" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${PACKAGES[@]}"; do
	case "$p" in
	nodejs | npm)
		command -v "${p/nodejs/node}" >/dev/null 2>&1 && continue ;;
	esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "oia: missing Debian packages; run:" >&2
	echo "  sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "oia: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
