# vpnws: unit tests and fuzz targets of the core (src/).
# Included by the top Makefile; uses BUILD, CC, CFLAGS, WARN, CPPFLAGS,
# vpnws_sources from there.
#
#   make unit-test     gcc build + prove, clang ASan/UBSan build + prove,
#                      then fuzz-smoke
#   make fuzz          libFuzzer targets into $(BUILD)/fuzz/
#   make fuzz-smoke    every fuzz target for FUZZ_TIME seconds
#   make fuzz-run FUZZ_TARGET=fuzz_ws_read FUZZ_TIME=600   a longer run

UNIT_CLANG     ?= clang
UNIT_PROVE     ?= prove
FUZZ_TIME      ?= 10

UNIT_CORE      := $(call vpnws_sources,unit)
UNIT_HDRS      := t/unit/tap.h $(wildcard src/*.h) $(wildcard fuzz/*.h) \
                  src/sources.list
UNIT_LIBS      := -lcrypto
UNIT_NAMES     := $(basename $(notdir $(wildcard t/unit/test_*.c)))
UNIT_BINS      := $(UNIT_NAMES:%=$(BUILD)/unit/%)
UNIT_ASAN_BINS := $(UNIT_NAMES:%=$(BUILD)/unit-asan/%)
UNIT_SAN       := -fsanitize=address,undefined -fno-sanitize-recover=all \
                  -fno-omit-frame-pointer

FUZZ_NAMES     := $(basename $(notdir $(wildcard fuzz/fuzz_*.c)))
FUZZ_BINS      := $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
FUZZ_FLAGS     := -g -O1 -fsanitize=fuzzer,address,undefined \
                  -fno-sanitize-recover=all -fno-omit-frame-pointer

.PHONY: unit-test unit-gcc unit-asan fuzz fuzz-smoke fuzz-run

unit-test: unit-gcc unit-asan fuzz-smoke

unit-gcc: $(UNIT_BINS)
	$(UNIT_PROVE) $(PROVE_FLAGS) --exec '' $(UNIT_BINS)

unit-asan: $(UNIT_ASAN_BINS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(UNIT_PROVE) $(PROVE_FLAGS) --exec '' $(UNIT_ASAN_BINS)

$(BUILD)/unit/%: t/unit/%.c $(UNIT_CORE) $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(UNIT_CORE) $(UNIT_LIBS)

$(BUILD)/unit-asan/%: t/unit/%.c $(UNIT_CORE) $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(UNIT_CLANG) $(CPPFLAGS) -g -O1 $(UNIT_SAN) $(WARN) -o $@ $< \
	    $(UNIT_CORE) $(UNIT_LIBS)

fuzz: $(FUZZ_BINS)

$(BUILD)/fuzz/%: fuzz/%.c $(UNIT_CORE) $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(UNIT_CLANG) $(CPPFLAGS) $(FUZZ_FLAGS) $(WARN) -o $@ $< $(UNIT_CORE)

# Every target at once for FUZZ_TIME seconds (the smoke run's wall time is
# one target's).  New inputs go to $(BUILD)/fuzz/corpus-*, never into the
# committed seeds; a crash leaves $(BUILD)/fuzz/<target>-crash-* and fails.
fuzz-smoke: $(FUZZ_BINS)
	@for t in $(FUZZ_NAMES); do \
	    mkdir -p $(BUILD)/fuzz/corpus-$$t fuzz/corpus/$$t; \
	    rm -f $(BUILD)/fuzz/$$t.rc; \
	    ( $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_TIME) \
	        -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/$$t- \
	        $(BUILD)/fuzz/corpus-$$t fuzz/corpus/$$t \
	        > $(BUILD)/fuzz/$$t.log 2>&1; \
	      echo $$? > $(BUILD)/fuzz/$$t.rc ) & \
	done; \
	wait; \
	fail=0; \
	for t in $(FUZZ_NAMES); do \
	    rc=$$(cat $(BUILD)/fuzz/$$t.rc 2>/dev/null || echo 1); \
	    echo "fuzz-smoke: $$t ($(FUZZ_TIME) s): $$( \
	        sed -n 's/^stat::number_of_executed_units: *//p' \
	            $(BUILD)/fuzz/$$t.log) runs, exit $$rc"; \
	    if [ "$$rc" != 0 ]; then tail -40 $(BUILD)/fuzz/$$t.log; fail=1; fi; \
	done; \
	exit $$fail

fuzz-run: $(BUILD)/fuzz/$(FUZZ_TARGET)
	mkdir -p $(BUILD)/fuzz/corpus-$(FUZZ_TARGET)
	$(BUILD)/fuzz/$(FUZZ_TARGET) -max_total_time=$(FUZZ_TIME) \
	    -artifact_prefix=$(BUILD)/fuzz/$(FUZZ_TARGET)- \
	    $(BUILD)/fuzz/corpus-$(FUZZ_TARGET) fuzz/corpus/$(FUZZ_TARGET)
