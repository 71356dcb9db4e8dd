# vpn-ws-client: included by the top Makefile (BUILD, CC, CFLAGS, WARN,
# CPPFLAGS come from there).

CLIENT_SRCS := client/main.c client/url.c client/auth.c client/conn.c \
               client/tls.c client/http.c client/proxy.c client/loop.c \
               client/log.c client/servers.c client/offload.c \
               $(call vpnws_sources,client)
CLIENT_HDRS := client/vpnws_client.h $(wildcard src/*.h) src/sources.list
CLIENT_LIBS := -lssl -lcrypto

CLIENT_ASAN_CC    ?= clang
CLIENT_ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer \
                     -fsanitize=address,undefined -fno-sanitize-recover=all

all: $(BUILD)/vpn-ws-client

# the sanitizer build and the unit tests need clang: with `make` when it is
# there, always for the test suite (tools/ensure-deps test installs it)
ifneq ($(shell command -v $(CLIENT_ASAN_CC) 2>/dev/null),)
all: $(BUILD)/asan/vpn-ws-client $(BUILD)/client-unit
endif

nginx-test: $(BUILD)/asan/vpn-ws-client $(BUILD)/client-unit

INSTALL_BINS += $(BUILD)/vpn-ws-client

$(BUILD)/vpn-ws-client: $(CLIENT_SRCS) $(CLIENT_HDRS) client/client.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) -Iclient -o $@ $(CLIENT_SRCS) \
	    $(LDFLAGS) $(CLIENT_LIBS)

$(BUILD)/asan/vpn-ws-client: $(CLIENT_SRCS) $(CLIENT_HDRS) client/client.mk
	@mkdir -p $(dir $@)
	$(CLIENT_ASAN_CC) $(CLIENT_ASAN_FLAGS) $(WARN) $(CPPFLAGS) -Iclient \
	    -o $@ $(CLIENT_SRCS) $(CLIENT_LIBS)

.PHONY: client
client: $(BUILD)/vpn-ws-client

# unit tests (run by t/56-client-unit.t) and libFuzzer targets
CLIENT_LIB_SRCS := $(filter-out client/main.c,$(CLIENT_SRCS))

$(BUILD)/client-unit: client/test_client.c $(CLIENT_LIB_SRCS) $(CLIENT_HDRS)
	@mkdir -p $(dir $@)
	$(CLIENT_ASAN_CC) $(CLIENT_ASAN_FLAGS) $(WARN) $(CPPFLAGS) -Iclient \
	    -o $@ client/test_client.c $(CLIENT_LIB_SRCS) $(CLIENT_LIBS)

CLIENT_FUZZ_NAMES := $(basename $(notdir $(wildcard client/fuzz_*.c)))
CLIENT_FUZZ_BINS  := $(CLIENT_FUZZ_NAMES:%=$(BUILD)/fuzz/%)

FUZZ_TIME         ?= 10

.PHONY: client-fuzz client-fuzz-smoke
client-fuzz: $(CLIENT_FUZZ_BINS)

# the suite's unit layer fuzzes the client's parsers too
unit-test: client-fuzz-smoke

$(BUILD)/fuzz/fuzz_client_%: client/fuzz_client_%.c $(CLIENT_LIB_SRCS) \
    $(CLIENT_HDRS)
	@mkdir -p $(dir $@)
	$(CLIENT_ASAN_CC) -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all $(WARN) $(CPPFLAGS) -Iclient -o $@ $< \
	    $(CLIENT_LIB_SRCS) $(CLIENT_LIBS)

client-fuzz-smoke: $(CLIENT_FUZZ_BINS)
	@set -e; for t in $(CLIENT_FUZZ_NAMES); do \
	    mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	    echo "client-fuzz-smoke: $$t ($(FUZZ_TIME) s)"; \
	    $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_TIME) \
	        -artifact_prefix=$(BUILD)/fuzz/$$t- $(BUILD)/fuzz/corpus-$$t \
	        > $(BUILD)/fuzz/$$t.log 2>&1 \
	    || { tail -40 $(BUILD)/fuzz/$$t.log; exit 1; }; \
	done
