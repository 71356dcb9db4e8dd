# bench/vpnws-load, the load generator of `make bench` (bench/run), and
# bench/vpnws-gso, a fixed segmentation workload for callgrind: included
# by the top Makefile; uses BUILD, CC, WARN, CPPFLAGS, vpnws_sources.
# bench/vpnws-wake: the machine's own wakeup cost, the ping baseline.

LOAD_SRCS  := bench/vpnws-load.c $(call vpnws_sources,load)
GSO_SRCS   := bench/vpnws-gso.c src/vpnws_gso.c src/vpnws_vnet.c src/vpnws_ws.c

.PHONY: bench-load bench-gso

bench-load: $(BUILD)/bench/vpnws-load $(BUILD)/bench/vpnws-wake

bench-gso: $(BUILD)/bench/vpnws-gso

$(BUILD)/bench/vpnws-load: $(LOAD_SRCS) $(wildcard src/*.h) src/sources.list \
                           bench/bench.mk
	@mkdir -p $(@D)
	$(CC) -O2 -g $(WARN) $(CPPFLAGS) -o $@.tmp $(LOAD_SRCS) -lpthread
	mv -f $@.tmp $@

$(BUILD)/bench/vpnws-gso: $(GSO_SRCS) $(wildcard src/*.h) bench/bench.mk
	@mkdir -p $(@D)
	$(CC) -O2 -g $(WARN) $(CPPFLAGS) -o $@.tmp $(GSO_SRCS)
	mv -f $@.tmp $@

$(BUILD)/bench/vpnws-wake: bench/vpnws-wake.c bench/bench.mk
	@mkdir -p $(@D)
	$(CC) -O2 -g $(WARN) -D_GNU_SOURCE -o $@.tmp bench/vpnws-wake.c
	mv -f $@.tmp $@
