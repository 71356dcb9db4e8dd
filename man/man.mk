# man pages: scdoc sources in man/, built into $(BUILD)/man (make man; make
# install installs them).  Included by the top Makefile.

SCDOC     ?= scdoc
MAN_SRCS  := $(wildcard man/*.scd)
MAN_PAGES := $(MAN_SRCS:man/%.scd=$(BUILD)/man/%)

.PHONY: man
man: $(MAN_PAGES)

# a page with tables says so on its first line, for readers that run
# groff without man's guessing (lintian)
$(BUILD)/man/%: man/%.scd
	@mkdir -p $(@D)
	$(SCDOC) < $< > $@.tmp
	if grep -q '^\.TS' $@.tmp; then \
	    { echo "'\\\" t"; cat $@.tmp; } > $@.tbl && mv -f $@.tbl $@.tmp; fi
	mv -f $@.tmp $@

# t/91-man.t reads them
nginx-test: $(MAN_PAGES)
