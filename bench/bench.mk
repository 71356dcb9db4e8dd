# bench/vpnws-load, the load generator of `make bench` (bench/run): included
# by the top Makefile; uses BUILD, CC, WARN, CPPFLAGS, vpnws_sources.

LOAD_SRCS  := bench/vpnws-load.c $(call vpnws_sources,load)

.PHONY: bench-load

bench-load: $(BUILD)/bench/vpnws-load

$(BUILD)/bench/vpnws-load: $(LOAD_SRCS) $(wildcard src/*.h) src/sources.list \
                           bench/bench.mk
	@mkdir -p $(@D)
	$(CC) -O2 -g $(WARN) $(CPPFLAGS) -o $@.tmp $(LOAD_SRCS) -lpthread
	mv -f $@.tmp $@
