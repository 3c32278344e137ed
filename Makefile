# Airlock: one Makefile for the whole tree (no recursion, so dependencies
# between modules are visible here).
#
#   make            build everything into $(BUILD)
#   make check      install missing packages, build, run every test
#   make demo       install missing packages, build, run the demo flow
#   make asan       build with AddressSanitizer + UBSan into build-asan
#   make check-asan run the whole test suite on the ASan build
#   make bench      performance figures against the raw limits
#   make lint       cppcheck on our code
#   make fuzz       libFuzzer targets (clang) into build-fuzz, each run for
#                   FUZZ_SECONDS (60); make fuzz-smoke: a short run of each
#
# BUILD may be overridden so that several builds (ASan, a helper's scratch
# build) live side by side.

BUILD   ?= build
CC      ?= cc
# Quiet by default so that test results stand out; V=1 shows each command.
ifeq ($(V),1)
Q :=
else
Q := @
endif
PKGS    := libcrypto libp11 sqlite3 yaml-0.1 libzip libgfshare libseccomp

OPT     ?= -O2
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection \
           -fPIE -fcf-protection
WARN    := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith \
           -Wstrict-prototypes -Wmissing-prototypes -Wvla
CFLAGS  ?= $(OPT) -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(CFLAGS) $(HARDEN) $(WARN) \
           -I. -Iappliance $(SAN) -MMD -MP
LDFLAGS_H := -pie -Wl,-z,relro,-z,now -Wl,--as-needed
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lcrypto -lp11 -lsqlite3 -lyaml -lzip -lgfshare -lseccomp) -lpthread

# Modules, in the order data flows through them. Each is a static library.
UTIL_SRC     := $(wildcard appliance/util/*.c)
PKI_SRC      := $(wildcard appliance/pki/*.c)
INGEST_SRC   := $(wildcard appliance/ingest/*.c)
POLICY_SRC   := $(wildcard appliance/policy/*.c)
APPROVAL_SRC := $(wildcard appliance/approval/*.c)
EXPORT_SRC   := $(wildcard appliance/export/*.c)
QUEUE_SRC    := $(wildcard appliance/queue/*.c)
AUDIT_SRC    := $(wildcard appliance/audit/*.c)
STORE_SRC    := $(wildcard appliance/store/*.c)
HSMCLI_SRC   := $(filter-out hsm/helper_%.c,$(wildcard hsm/*.c))
HSMHELP_SRC  := $(wildcard hsm/helper_*.c)
SIGNER_SRC   := $(wildcard appliance/signer/*.c)
CTL_SRC      := $(wildcard appliance/ctl/*.c)
ROLE_SRC     := $(wildcard appliance/role/*.c)
DAEMON_SRC   := $(filter-out appliance/daemon/airlockd.c,$(wildcard appliance/daemon/*.c))
OPERATOR_SRC := $(wildcard appliance/operator/*.c)
CEREMONY_SRC := $(wildcard ceremony/*.c)
CONSOLE_SRC  := $(wildcard appliance/console/*.c)
AIRLOCKD_SRC := appliance/daemon/airlockd.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_UTIL     := $(BUILD)/lib/libutil.a
LIB_PKI      := $(BUILD)/lib/libpki.a
LIB_INGEST   := $(BUILD)/lib/libingest.a
LIB_POLICY   := $(BUILD)/lib/libpolicy.a
LIB_APPROVAL := $(BUILD)/lib/libapproval.a
LIB_EXPORT   := $(BUILD)/lib/libexport.a
LIB_QUEUE    := $(BUILD)/lib/libqueue.a
LIB_AUDIT    := $(BUILD)/lib/libaudit.a
LIB_STORE    := $(BUILD)/lib/libstore.a
LIB_HSM      := $(BUILD)/lib/libhsm.a
LIB_SIGNER   := $(BUILD)/lib/libsigner.a
LIB_CTL      := $(BUILD)/lib/libctl.a
LIB_ROLE     := $(BUILD)/lib/librole.a
LIB_DAEMON   := $(BUILD)/lib/libdaemon.a
LIB_OPERATOR := $(BUILD)/lib/liboperator.a
LIB_CEREMONY := $(BUILD)/lib/libceremony.a
# Users before what they use. ingest (the bundle check) and policy (MAC
# formats) use each other, so the libraries are linked as one group.
LIB_LIST     := $(LIB_CEREMONY) $(LIB_DAEMON) $(LIB_ROLE) $(LIB_OPERATOR) $(LIB_CTL) \
                $(LIB_EXPORT) $(LIB_SIGNER) $(LIB_INGEST) $(LIB_POLICY) \
                $(LIB_APPROVAL) $(LIB_QUEUE) $(LIB_AUDIT) $(LIB_STORE) $(LIB_HSM) \
                $(LIB_PKI) $(LIB_UTIL)
ALL_LIBS     := -Wl,--start-group $(LIB_LIST) -Wl,--end-group

BIN_AIRLOCK  := $(BUILD)/bin/airlock
BIN_HELPER   := $(BUILD)/bin/airlock-hsm
BIN_DAEMON   := $(BUILD)/bin/airlockd

UNIT_SRC     := $(wildcard tests/unit/test_*.c)
UNIT_BIN     := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_SRC    := $(wildcard tests/bench/bench_*.c)
BENCH_BIN    := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all check demo asan check-asan bench lint deps clean unit e2e \
        fuzz fuzz-smoke fuzz-build
all: $(BIN_AIRLOCK) $(BIN_HELPER) $(BIN_DAEMON)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB_UTIL): $(call obj,$(UTIL_SRC))
$(LIB_PKI): $(call obj,$(PKI_SRC))
$(LIB_INGEST): $(call obj,$(INGEST_SRC))
$(LIB_POLICY): $(call obj,$(POLICY_SRC))
$(LIB_APPROVAL): $(call obj,$(APPROVAL_SRC))
$(LIB_EXPORT): $(call obj,$(EXPORT_SRC))
$(LIB_QUEUE): $(call obj,$(QUEUE_SRC))
$(LIB_AUDIT): $(call obj,$(AUDIT_SRC))
$(LIB_STORE): $(call obj,$(STORE_SRC))
$(LIB_HSM): $(call obj,$(HSMCLI_SRC))
$(LIB_CEREMONY): $(call obj,$(CEREMONY_SRC))
$(LIB_SIGNER): $(call obj,$(SIGNER_SRC))
$(LIB_CTL): $(call obj,$(CTL_SRC))
$(LIB_ROLE): $(call obj,$(ROLE_SRC))
$(LIB_DAEMON): $(call obj,$(DAEMON_SRC))
$(LIB_OPERATOR): $(call obj,$(OPERATOR_SRC))
$(BUILD)/lib/%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(BIN_AIRLOCK): $(call obj,$(CONSOLE_SRC)) $(LIB_LIST)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS_H) -o $@ $(call obj,$(CONSOLE_SRC)) $(ALL_LIBS) $(LIBS)

$(BIN_DAEMON): $(call obj,$(AIRLOCKD_SRC)) $(LIB_LIST)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS_H) -o $@ $(call obj,$(AIRLOCKD_SRC)) $(ALL_LIBS) $(LIBS)

# The HSM helper links only what it needs: no YAML, no SQLite, no parsers
# of untrusted input.
$(BIN_HELPER): $(call obj,$(HSMHELP_SRC)) $(LIB_HSM) $(LIB_PKI) $(LIB_UTIL)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS_H) -o $@ $(call obj,$(HSMHELP_SRC)) \
	    $(LIB_HSM) $(LIB_PKI) $(LIB_UTIL) -lp11 -lcrypto -lseccomp

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB_LIST)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes $(LDFLAGS_H) -o $@ $< $(ALL_LIBS) $(LIBS) -lcmocka

$(BUILD)/bench/bench_%: tests/bench/bench_%.c $(LIB_LIST)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes $(LDFLAGS_H) -o $@ $< $(ALL_LIBS) $(LIBS)

# --- tests ---------------------------------------------------------------
deps:
	@tools/deps.sh check

unit: all $(UNIT_BIN)
	@tools/run-unit.sh $(BUILD) $(UNIT_BIN)

e2e: all
	@AIRLOCK_BUILD=$(abspath $(BUILD)) tests/e2e/run.sh

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory check-asan
	@$(MAKE) --no-print-directory fuzz-smoke

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    all $(patsubst $(BUILD)/%,build-asan/%,$(UNIT_BIN))

check-asan: asan
	@LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    tools/run-unit.sh build-asan $(patsubst $(BUILD)/%,build-asan/%,$(UNIT_BIN))
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    AIRLOCK_BUILD=$(abspath build-asan) tests/e2e/run.sh

# --- fuzzing -------------------------------------------------------------
# libFuzzer needs clang, so the fuzz build has its own objects compiled
# from the same module sources: nothing is shared with $(BUILD), whose
# objects come from $(CC). All modules go into one archive, which the
# linker rescans until closed, so link order does not matter there.
# _FORTIFY_SOURCE and the other HARDEN flags are left out: ASan checks the
# same accesses more thoroughly, and fortified calls bypass its
# interceptors.
FUZZ_BUILD   := build-fuzz
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) -I. -Iappliance \
                $(FUZZ_SAN) -MMD -MP
FUZZ_LIB_SRC := $(UTIL_SRC) $(PKI_SRC) $(INGEST_SRC) $(POLICY_SRC) \
                $(APPROVAL_SRC) $(EXPORT_SRC) $(QUEUE_SRC) $(AUDIT_SRC) \
                $(STORE_SRC) \
                $(HSMCLI_SRC) $(CEREMONY_SRC) $(SIGNER_SRC) $(CTL_SRC) \
                $(ROLE_SRC) $(DAEMON_SRC) $(OPERATOR_SRC)
FUZZ_OBJ     := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(FUZZ_LIB_SRC))
FUZZ_LIB     := $(FUZZ_BUILD)/lib/libairlock-fuzz.a
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/bin/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 60

# fuzzer-no-link instruments the library for coverage without pulling in
# libFuzzer's main; only the harness link below adds it.
$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-FUZZ $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(FUZZ_BUILD)/bin/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@) $(FUZZ_BUILD)/obj/tests/fuzz
	@$(if $(Q),echo "  LD-FUZZ $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MF $(FUZZ_BUILD)/obj/$(<:.c=.d) \
	    -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz-smoke: deps
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) tools/fuzz.sh smoke

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) tools/fuzz.sh run $(FUZZ_SECONDS)

demo: deps
	$(MAKE) all
	@AIRLOCK_BUILD=$(abspath $(BUILD)) tools/demo.sh

bench: deps
	$(MAKE) all $(BENCH_BIN)
	@AIRLOCK_BUILD=$(abspath $(BUILD)) tools/bench.sh

lint:
	@tools/lint.sh

clean:
	rm -rf build build-asan build-*

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
