#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages that building and testing OIA need, only where
# missing. As root it runs apt-get; otherwise it prints the one command the
# user must run and exits 1.
set -euo pipefail

# Every Debian package the build, the tests, the demo and the packages use.
PACKAGES=(
	gcc libc6-dev make pkg-config          # cgo for miekg/pkcs11, the virtual card module
	libssl-dev                             # the virtual card module's RSA
	softhsm2 opensc p11-kit p11-kit-modules gnutls-bin   # real PKCS#11 modules and tools
	openssl                                # verifies what the host signs
	chromium firefox-esr                   # end-to-end tests and the demo
	libnss3-tools                          # certutil: the e2e browsers trust the test root through NSS
	tmux                                   # drives 'oia login' in a terminal test
	graphviz                               # make docs: the state-machine picture
	gcc-mingw-w64-x86-64 osslsigncode      # Windows binaries, Authenticode
	gcc-mingw-w64-i686                     # the 32-bit TicketApiDll.dll (legacy applications)
	zip unzip                              # extension archives
	nodejs npm                             # the extension's build (skipped when node is already on PATH)
)

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
