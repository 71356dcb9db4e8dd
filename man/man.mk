# man pages: scdoc sources in man/, built into $(BUILD)/man (make man; make
# install installs them).  Included by the top Makefile.

SCDOC     ?= scdoc
MAN_SRCS  := $(wildcard man/*.scd)
MAN_PAGES := $(MAN_SRCS:man/%.scd=$(BUILD)/man/%)

.PHONY: man
man: $(MAN_PAGES)

$(BUILD)/man/%: man/%.scd
	@mkdir -p $(@D)
	$(SCDOC) < $< > $@.tmp && mv -f $@.tmp $@

# t/91-man.t reads them
nginx-test: $(MAN_PAGES)
