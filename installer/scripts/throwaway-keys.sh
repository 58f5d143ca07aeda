#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes throw-away signing keys for `make package` in CI and development:
# a CRX key and an Authenticode CA with a code-signing certificate. They
# sign nothing anyone should trust. Usage: throwaway-keys.sh DIR
set -euo pipefail
dir=${1:?usage: throwaway-keys.sh DIR}
mkdir -p "$dir"
cd "$dir"
[ -f crx-key.pem ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out crx-key.pem 2>/dev/null
if [ ! -f win-sign.pem ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout win-ca.key -out win-ca.pem -days 30 \
		-subj "/CN=OIA Throw-away Code Signing CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout win-sign.key -out win-sign.csr \
		-subj "/CN=Open Identity Agent (throw-away)" 2>/dev/null
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' > win-sign.ext
	openssl x509 -req -in win-sign.csr -CA win-ca.pem -CAkey win-ca.key -CAcreateserial \
		-days 30 -extfile win-sign.ext -out win-sign.pem 2>/dev/null
	rm -f win-sign.csr win-sign.ext
fi
