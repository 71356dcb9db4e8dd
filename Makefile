# vpnws: make | make test | make bench | make demo | make install | make deb |
#        make clean

NGINX_SRC  ?= /usr/share/nginx/src
BUILD      := $(CURDIR)/build
CC         ?= cc
CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -Wpointer-arith -Werror
CPPFLAGS   += -D_GNU_SOURCE -Isrc
# tools/ensure-deps puts promtool here when no package provides it
export PATH := $(CURDIR)/build/tools:$(PATH)
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
# a local install's units go where the administrator's do; the package's
# into the distribution's directory (debian/rules sets it)
UNITDIR    ?= /etc/systemd/system
# more ./configure arguments for the module build
NGX_CONFIGURE ?=
MODDIR     ?= /usr/lib/nginx/modules

# the core sources a build uses: $(call vpnws_sources,module|client|...)
vpnws_sources = $(shell awk -v b=$(1) '$$1 !~ /^\#/ { for (i = 2; i <= NF; \
                    i++) if ($$i == b) print "src/" $$1 }' src/sources.list)

CORE_SRCS  := $(call vpnws_sources,module)
CORE_HDRS  := $(wildcard src/*.h)
MOD_SRCS   := config ngx_http_vpnws.h $(wildcard ngx_http_vpnws_*.c)
MODULE     := $(BUILD)/ngx_http_vpnws_module.so

.PHONY: FORCE all module asan-module asan-test test unit-test nginx-test bench demo install clean deps fuzz-long soak deb

all: module

module: $(MODULE)

# The nginx tree is copied: configure writes a Makefile into its cwd and
# nothing may be written into the system tree.
# reconfigure when NGINX_SRC changes between runs
$(BUILD)/nginx-src: FORCE
	@mkdir -p $(BUILD)
	@echo '$(NGINX_SRC)' | cmp -s - $@ || echo '$(NGINX_SRC)' > $@

$(BUILD)/nginx/.configured: config src/sources.list $(NGINX_SRC)/configure \
                            $(BUILD)/nginx-src
	rm -rf $(BUILD)/nginx $(BUILD)/nginx-objs
	mkdir -p $(BUILD)
	cp -a $(NGINX_SRC)/. $(BUILD)/nginx
	cd $(BUILD)/nginx && bash -c ' \
	    flags=(--with-compat); \
	    if [ -f conf_flags ]; then . ./conf_flags; flags=("$${NGX_CONF_FLAGS[@]}"); fi; \
	    ./configure "$${flags[@]}" $(NGX_CONFIGURE) --builddir=$(BUILD)/nginx-objs \
	        --add-dynamic-module=$(CURDIR)' > $(BUILD)/configure.log 2>&1 \
	    || { tail -20 $(BUILD)/configure.log; exit 1; }
	touch $@

# a new file, not an overwrite: running nginx processes map the old one
$(MODULE): $(BUILD)/nginx/.configured $(MOD_SRCS) $(CORE_SRCS) $(CORE_HDRS) \
           src/sources.list
	$(MAKE) -C $(BUILD)/nginx -f $(BUILD)/nginx-objs/Makefile modules
	cp $(BUILD)/nginx-objs/ngx_http_vpnws_module.so $@.tmp && mv -f $@.tmp $@

-include client/client.mk
-include daemon/daemon.mk
-include bench/bench.mk
-include t/unit/unit.mk
-include man/man.mk
-include debian/deb.mk

deps:
	@tools/ensure-deps build

test:
	@tools/ensure-deps build test
	$(MAKE) all
	$(MAKE) unit-test
	$(MAKE) nginx-test
	$(MAKE) asan-test

nginx-test: $(MODULE)
	VPNWS_BUILD=$(BUILD) prove -r -j1 $(PROVE_FLAGS) t/

# the module built with AddressSanitizer/UBSan, loaded into Debian's nginx
# with the sanitizer runtimes preloaded: the nginx-level tests once more
ASAN_BUILD := $(BUILD)/asan-module
ASAN_RT     = $(shell $(CC) -print-file-name=libasan.so) \
              $(shell $(CC) -print-file-name=libubsan.so)

# RSS checks mean nothing under ASan's quarantine: t/48-leaks.t runs plain;
# t/61: the switching cases shared with the daemon, run by the module
ASAN_TESTS = $(filter-out t/48-leaks.t,$(wildcard t/[1-4]*.t)) \
             t/61-switch-module.t t/70-status.t

asan-module:
	$(MAKE) BUILD=$(ASAN_BUILD) NGX_CONFIGURE='--with-cc-opt="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"' module

asan-test: asan-module
	VPNWS_BUILD=$(ASAN_BUILD) TEST_NGINX_PRELOAD="$(ASAN_RT)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	    prove -j1 $(PROVE_FLAGS) $(ASAN_TESTS)

# every libFuzzer target until FUZZ_RUNS executions or FUZZ_TIME seconds
# each (not part of make test): executions, coverage, crashes per target
FUZZ_RUNS ?= 10000000
FUZZ_JOBS ?= 1

fuzz-long:
	$(MAKE) fuzz client-fuzz
	FUZZ_TIME=$(if $(filter command line,$(origin FUZZ_TIME)),$(FUZZ_TIME),600) \
	FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_JOBS=$(FUZZ_JOBS) tools/fuzz-long $(BUILD)

# SOAK_PEERS peers for SOAK_TIME seconds, a reload a minute, a kill -9 every
# two (not part of make test; bench/soak says what it checks)
soak:
	@tools/ensure-deps build bench
	$(MAKE) all
	VPNWS_BUILD=$(BUILD) bench/soak

bench:
	@tools/ensure-deps build bench
	$(MAKE) all bench-load
	bench/run

demo:
	@tools/ensure-deps build demo
	$(MAKE) all
	tools/demo

UNITS := client/vpn-ws-client@.service.in daemon/vpn-ws.service.in

# what a package holds, and nothing that needs clang (the sanitizer builds)
install: $(MODULE) $(INSTALL_BINS) $(MAN_PAGES)
	install -d $(DESTDIR)$(MODDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/vpn-ws-client
	install -m 0644 $(MODULE) $(DESTDIR)$(MODDIR)/
	for b in $(INSTALL_BINS); do \
	    install -m 0755 $$b $(DESTDIR)$(SBINDIR)/; done
	for m in $(MAN_PAGES); do s=$${m##*.}; \
	    install -d $(DESTDIR)$(MANDIR)/man$$s; \
	    install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	for u in $(UNITS); do \
	    sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	        $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u .in) && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u .in); done

clean:
	rm -rf $(BUILD)

FORCE:
