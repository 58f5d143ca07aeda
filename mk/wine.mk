# SPDX-License-Identifier: MIT
# Windows tests under Wine (e2e/windows; docs/installer.md, "Tested under
# Wine"): debug builds of oia-host.exe and oia.exe and the nativemsg test
# binary, cross-built with mingw-w64 as package-windows builds the release
# ones, into build/wintest/; the Ticket API DLLs and their LoadLibrary
# clients come from ticketapi-windows (build/windows/{x86,x64}/). The tests
# find them through OIA_WINDOWS_BUILD (TEST_ENV), or build their own copy
# through this rule.

WINTEST_BIN := $(BUILD)/wintest
WINTEST_GO  := CC=$(MINGW_CC) CGO_ENABLED=1 GOOS=windows GOARCH=amd64 $(GO)

.PHONY: windows-test-bin
TEST_DEPS += windows-test-bin
windows-test-bin: ticketapi-windows
	@mkdir -p $(WINTEST_BIN)
	$(WINTEST_GO) build -trimpath -o $(WINTEST_BIN)/ ./host/cmd/oia-host ./installer/cmd/oia
	$(WINTEST_GO) test -c -trimpath -o $(WINTEST_BIN)/nativemsg.test.exe ./host/nativemsg
