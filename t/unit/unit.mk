# vpnws: unit tests and fuzz targets of the core (src/).
# Included by the top Makefile; uses BUILD, CC, CFLAGS, WARN, CPPFLAGS,
# CORE_SRCS, CORE_HDRS from there.
#
#   make unit-test     gcc build + prove, clang ASan/UBSan build + prove,
#                      then fuzz-smoke
#   make fuzz          libFuzzer targets into $(BUILD)/fuzz/
#   make fuzz-smoke    every fuzz target for FUZZ_TIME seconds
#   make fuzz-run FUZZ_TARGET=fuzz_ws_read FUZZ_TIME=600   a longer run

UNIT_CLANG     ?= clang
UNIT_PROVE     ?= prove
FUZZ_TIME      ?= 10

# CORE_SRCS may name files that do not exist yet, and some core files
# (the uwsgi parser) are only in the daemon's list; tap backends are OS code
UNIT_CORE      := $(sort $(wildcard $(CORE_SRCS)) \
                    $(filter-out src/vpnws_tap_%.c,$(wildcard src/vpnws_*.c)))
UNIT_HDRS      := t/unit/tap.h $(wildcard src/*.h) $(wildcard fuzz/*.h)
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

# New inputs go to $(BUILD)/fuzz/corpus-*, never into the committed seeds;
# a crash leaves $(BUILD)/fuzz/crash-* and fails the target.
fuzz-smoke: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_NAMES); do \
	    mkdir -p $(BUILD)/fuzz/corpus-$$t fuzz/corpus/$$t; \
	    echo "fuzz-smoke: $$t ($(FUZZ_TIME) s)"; \
	    $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	        -artifact_prefix=$(BUILD)/fuzz/$$t- \
	        $(BUILD)/fuzz/corpus-$$t fuzz/corpus/$$t \
	        > $(BUILD)/fuzz/$$t.log 2>&1 \
	    || { tail -60 $(BUILD)/fuzz/$$t.log; exit 1; }; \
	    grep -E '^stat::number_of_executed_units|^stat::new_units_added' \
	        $(BUILD)/fuzz/$$t.log | sed 's/^/    /'; \
	done

fuzz-run: $(BUILD)/fuzz/$(FUZZ_TARGET)
	mkdir -p $(BUILD)/fuzz/corpus-$(FUZZ_TARGET)
	$(BUILD)/fuzz/$(FUZZ_TARGET) -max_total_time=$(FUZZ_TIME) \
	    -artifact_prefix=$(BUILD)/fuzz/$(FUZZ_TARGET)- \
	    $(BUILD)/fuzz/corpus-$(FUZZ_TARGET) fuzz/corpus/$(FUZZ_TARGET)
