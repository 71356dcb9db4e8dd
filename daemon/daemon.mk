# vpn-ws: the uwsgi fallback daemon, built from the core.
# Included by the top Makefile; uses BUILD, CC, CFLAGS, WARN, CPPFLAGS and
# vpnws_sources from there.
#
#   make                  $(BUILD)/vpn-ws (with `all`)
#   make vpn-ws-static    $(BUILD)/vpn-ws-static, one static binary
#   make vpn-ws-asan      $(BUILD)/asan/vpn-ws (ASan + UBSan)

DAEMON_CLANG  ?= clang
DAEMON_SRCS   := $(wildcard daemon/*.c)
DAEMON_HDRS   := $(wildcard daemon/*.h) $(wildcard src/*.h) src/sources.list
DAEMON_CORE   := $(call vpnws_sources,daemon)
DAEMON_LIBS   := -lcrypto
DAEMON_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all \
                 -fno-omit-frame-pointer

DAEMON_FLAGS  := $(CPPFLAGS) -Idaemon

.PHONY: vpn-ws vpn-ws-static vpn-ws-asan

all: $(BUILD)/vpn-ws

vpn-ws: $(BUILD)/vpn-ws
vpn-ws-static: $(BUILD)/vpn-ws-static
vpn-ws-asan: $(BUILD)/asan/vpn-ws

INSTALL_BINS += $(BUILD)/vpn-ws

# the suite runs the static build and the ASan build too (t/6*.t)
nginx-test: $(BUILD)/vpn-ws $(BUILD)/vpn-ws-static $(BUILD)/asan/vpn-ws

$(BUILD)/vpn-ws: $(DAEMON_SRCS) $(DAEMON_CORE) $(DAEMON_HDRS) daemon/daemon.mk
	@mkdir -p $(@D)
	$(CC) $(DAEMON_FLAGS) $(CFLAGS) $(WARN) -o $@.tmp $(DAEMON_SRCS) \
	    $(DAEMON_CORE) $(LDFLAGS) $(DAEMON_LIBS)
	mv -f $@.tmp $@

# getpwnam/getgrnam in a static glibc binary: the linker warns, it works
$(BUILD)/vpn-ws-static: $(DAEMON_SRCS) $(DAEMON_CORE) $(DAEMON_HDRS) \
                        daemon/daemon.mk
	@mkdir -p $(@D)
	$(CC) $(DAEMON_FLAGS) $(CFLAGS) $(WARN) -static -o $@.tmp \
	    $(DAEMON_SRCS) $(DAEMON_CORE) $(LDFLAGS) $(DAEMON_LIBS) -pthread
	mv -f $@.tmp $@

$(BUILD)/asan/vpn-ws: $(DAEMON_SRCS) $(DAEMON_CORE) $(DAEMON_HDRS) \
                      daemon/daemon.mk
	@mkdir -p $(@D)
	$(DAEMON_CLANG) $(DAEMON_FLAGS) -g -O1 $(DAEMON_SAN) $(WARN) -o $@.tmp \
	    $(DAEMON_SRCS) $(DAEMON_CORE) $(DAEMON_LIBS)
	mv -f $@.tmp $@
