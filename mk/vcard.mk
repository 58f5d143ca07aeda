# SPDX-License-Identifier: MIT
# The virtual smartcard: the PKCS#11 module liboia-vcard.so (C, OpenSSL),
# built through `oia-vcard build-module` so that the compiler flags live in
# one place (e2e/vcard/module.go). Tests find it through OIA_LIB=build/lib.

VCARD_LIB := $(BUILD)/lib/liboia-vcard.so
VCARD_SRC := $(wildcard e2e/vcard/module/*.c e2e/vcard/module/*.h e2e/vcard/module.go)

BUILD_DEPS += $(VCARD_LIB)

.PHONY: vcard
vcard: $(VCARD_LIB) ## build the virtual smartcard module

$(VCARD_LIB): $(VCARD_SRC)
	$(GO) run ./e2e/cmd/oia-vcard build-module --out $(dir $@)
