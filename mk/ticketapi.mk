# SPDX-License-Identifier: MIT
# The legacy Ticket API library (C sources in host/ticketapi/src, tests in
# host/ticketapi, docs/ticket-api.md):
#
#   make ticketapi           build/lib/libTicketApi.so and its test programs
#   make ticketapi-windows   build/windows/{x86,x64}/TicketApiDll.dll and a
#                            LoadLibrary client per architecture (mingw-w64)
#
# The compiler flags live here only: the Go tests in host/ticketapi build
# their copies through these rules (with BUILD set to a temporary folder and
# TICKETAPI_SANITIZE=1 for ASan and UBSan).

TICKETAPI_DIR  := host/ticketapi/src
TICKETAPI_SRC  := $(addprefix $(TICKETAPI_DIR)/,ticketapi.c json.c transport_posix.c transport_windows.c exports_underscore.c)
TICKETAPI_HDR  := $(wildcard $(TICKETAPI_DIR)/*.h)
TICKETAPI_LIB  := $(BUILD)/lib/libTicketApi.so
TICKETAPI_TEST := $(BUILD)/lib/ticketapi-test $(BUILD)/lib/ticketapi-json-test

TICKETAPI_WARN := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Werror
TICKETAPI_DEFS := -DOIA_VERSION='"$(VERSION)"'
ifeq ($(TICKETAPI_SANITIZE),1)
TICKETAPI_OPT  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else
TICKETAPI_OPT  := -O2 -D_FORTIFY_SOURCE=2
endif
TICKETAPI_CFLAGS := $(TICKETAPI_WARN) $(TICKETAPI_OPT) $(TICKETAPI_DEFS) -fstack-protector-strong

BUILD_DEPS += $(TICKETAPI_LIB)
TEST_DEPS  += $(TICKETAPI_TEST)

.PHONY: ticketapi ticketapi-windows
ticketapi: $(TICKETAPI_LIB) $(TICKETAPI_TEST)

# The shared library exports only the Ticket API (-fvisibility=hidden plus
# explicit exports) and needs nothing but libc and pthreads.
$(TICKETAPI_LIB): $(TICKETAPI_SRC) $(TICKETAPI_HDR)
	@mkdir -p $(@D)
	$(CC) $(TICKETAPI_CFLAGS) -fPIC -fvisibility=hidden -shared -Wl,-soname,libTicketApi.so \
		-Wl,-z,relro,-z,now,-z,noexecstack -o $@ $(TICKETAPI_SRC) -lpthread

# The test program is compiled against ticket_api.h and linked with the
# library beside it.
$(BUILD)/lib/ticketapi-test: $(TICKETAPI_DIR)/test/tatest.c $(TICKETAPI_DIR)/ticket_api.h $(TICKETAPI_LIB)
	$(CC) $(TICKETAPI_CFLAGS) -I$(TICKETAPI_DIR) -o $@ $< -L$(@D) -lTicketApi -Wl,-rpath,'$$ORIGIN' -lpthread -ldl

$(BUILD)/lib/ticketapi-json-test: $(TICKETAPI_DIR)/test/json_test.c $(TICKETAPI_DIR)/json.c $(TICKETAPI_DIR)/json.h
	@mkdir -p $(@D)
	$(CC) $(TICKETAPI_CFLAGS) -I$(TICKETAPI_DIR) -o $@ $< $(TICKETAPI_DIR)/json.c

# Windows: cdecl, statically linked runtime support (no libgcc or libssp
# DLL beside it), exports from TicketApiDll.def, stripped.
TICKETAPI_MINGW_FLAGS := $(TICKETAPI_WARN) -O2 $(TICKETAPI_DEFS) -D__USE_MINGW_ANSI_STDIO=1 \
	-fstack-protector-strong -static -s -Wl,--dynamicbase,--nxcompat
TICKETAPI_WIN := $(WIN_BIN)/x86/TicketApiDll.dll $(WIN_BIN)/x64/TicketApiDll.dll \
	$(WIN_BIN)/x86/ticketapi-loadlib.exe $(WIN_BIN)/x64/ticketapi-loadlib.exe

ticketapi-windows: $(TICKETAPI_WIN)
package-windows: ticketapi-windows

$(WIN_BIN)/x86/TicketApiDll.dll: MINGW_ARCH_CC := i686-w64-mingw32-gcc
$(WIN_BIN)/x64/TicketApiDll.dll: MINGW_ARCH_CC := x86_64-w64-mingw32-gcc
$(WIN_BIN)/x64/TicketApiDll.dll: MINGW_ARCH_FLAGS := -Wl,--high-entropy-va
TICKETAPI_COMMA := ,
TICKETAPI_RCFLAGS = -DOIA_VERSION_NUM=$(subst .,$(TICKETAPI_COMMA),$(VERSION)),0 -DOIA_VERSION_STR=\\\"$(VERSION)\\\"
$(WIN_BIN)/%/TicketApiDll.dll: $(TICKETAPI_SRC) $(TICKETAPI_HDR) $(TICKETAPI_DIR)/TicketApiDll.def $(TICKETAPI_DIR)/TicketApiDll.rc
	@mkdir -p $(@D)
	$(MINGW_ARCH_CC:gcc=windres) $(TICKETAPI_RCFLAGS) -O coff -o $@.res $(TICKETAPI_DIR)/TicketApiDll.rc
	$(MINGW_ARCH_CC) $(TICKETAPI_MINGW_FLAGS) $(MINGW_ARCH_FLAGS) -shared -o $@ \
		$(TICKETAPI_SRC) $(TICKETAPI_DIR)/TicketApiDll.def $@.res -ladvapi32
	@rm -f $@.res

# A client that loads the DLL and looks every function up by name, as
# legacy callers do (run under Wine or on Windows: it prints what it found).
$(WIN_BIN)/x86/ticketapi-loadlib.exe: MINGW_ARCH_CC := i686-w64-mingw32-gcc
$(WIN_BIN)/x64/ticketapi-loadlib.exe: MINGW_ARCH_CC := x86_64-w64-mingw32-gcc
$(WIN_BIN)/%/ticketapi-loadlib.exe: $(TICKETAPI_DIR)/test/loadlib.c $(TICKETAPI_DIR)/ticket_api.h
	@mkdir -p $(@D)
	$(MINGW_ARCH_CC) $(TICKETAPI_MINGW_FLAGS) -I$(TICKETAPI_DIR) -o $@ $<
