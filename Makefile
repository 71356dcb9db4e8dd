# vpnws: make | make test | make bench | make demo | make install | make clean

NGINX_SRC  ?= /usr/share/nginx/src
BUILD      := $(CURDIR)/build
CC         ?= cc
CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -Wpointer-arith -Werror
CPPFLAGS   += -D_GNU_SOURCE -Isrc
PREFIX     ?= /usr/local
MODDIR     ?= /usr/lib/nginx/modules

CORE_SRCS  := src/vpnws_mac.c src/vpnws_ws.c src/vpnws_mactab.c \
              src/vpnws_switch.c src/vpnws_json.c src/vpnws_prom.c \
              src/vpnws_tap_linux.c
CORE_HDRS  := $(wildcard src/*.h)
MOD_SRCS   := config ngx_http_vpnws.h $(wildcard ngx_http_vpnws_*.c)
MODULE     := $(BUILD)/ngx_http_vpnws_module.so

.PHONY: FORCE all module test unit-test nginx-test bench demo install clean deps

all: module

module: $(MODULE)

# The nginx tree is copied: configure writes a Makefile into its cwd and
# nothing may be written into the system tree.
# reconfigure when NGINX_SRC changes between runs
$(BUILD)/nginx-src: FORCE
	@mkdir -p $(BUILD)
	@echo '$(NGINX_SRC)' | cmp -s - $@ || echo '$(NGINX_SRC)' > $@

$(BUILD)/nginx/.configured: config $(NGINX_SRC)/configure $(BUILD)/nginx-src
	rm -rf $(BUILD)/nginx $(BUILD)/nginx-objs
	mkdir -p $(BUILD)
	cp -a $(NGINX_SRC)/. $(BUILD)/nginx
	cd $(BUILD)/nginx && bash -c ' \
	    flags=(--with-compat); \
	    if [ -f conf_flags ]; then . ./conf_flags; flags=("$${NGX_CONF_FLAGS[@]}"); fi; \
	    ./configure "$${flags[@]}" --builddir=$(BUILD)/nginx-objs \
	        --add-dynamic-module=$(CURDIR)' > $(BUILD)/configure.log 2>&1 \
	    || { tail -20 $(BUILD)/configure.log; exit 1; }
	touch $@

# a new file, not an overwrite: running nginx processes map the old one
$(MODULE): $(BUILD)/nginx/.configured $(MOD_SRCS) $(CORE_SRCS) $(CORE_HDRS)
	$(MAKE) -C $(BUILD)/nginx -f $(BUILD)/nginx-objs/Makefile modules
	cp $(BUILD)/nginx-objs/ngx_http_vpnws_module.so $@.tmp && mv -f $@.tmp $@

-include client/client.mk
-include daemon/daemon.mk
-include t/unit/unit.mk

deps:
	@tools/ensure-deps build

test:
	@tools/ensure-deps build test
	$(MAKE) all
	$(MAKE) unit-test
	$(MAKE) nginx-test

nginx-test: $(MODULE)
	VPNWS_BUILD=$(BUILD) prove -r -j1 $(PROVE_FLAGS) t/

bench:
	@tools/ensure-deps build bench
	$(MAKE) all
	bench/run

demo:
	@tools/ensure-deps build demo
	$(MAKE) all
	tools/demo

install: all
	install -d $(DESTDIR)$(MODDIR) $(DESTDIR)$(PREFIX)/bin
	install -m 0644 $(MODULE) $(DESTDIR)$(MODDIR)/
	for b in $(INSTALL_BINS); do install -m 0755 $$b $(DESTDIR)$(PREFIX)/bin/; done
	install -d $(DESTDIR)/etc/systemd/system
	install -m 0644 client/vpn-ws-client@.service $(DESTDIR)/etc/systemd/system/

clean:
	rm -rf $(BUILD)

FORCE:
