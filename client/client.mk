# vpn-ws-client: included by the top Makefile (BUILD, CC, CFLAGS, WARN,
# CPPFLAGS come from there).

CLIENT_SRCS := client/main.c client/url.c client/conn.c client/tls.c \
               client/http.c client/proxy.c client/loop.c client/log.c \
               src/vpnws_ws.c src/vpnws_mac.c src/vpnws_tap_linux.c
CLIENT_HDRS := client/vpnws_client.h src/vpnws_ws.h src/vpnws_mac.h \
               src/vpnws_tap.h
CLIENT_LIBS := -lssl -lcrypto

CLIENT_ASAN_CC    ?= clang
CLIENT_ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer \
                     -fsanitize=address,undefined -fno-sanitize-recover=all

all: $(BUILD)/vpn-ws-client $(BUILD)/asan/vpn-ws-client

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
