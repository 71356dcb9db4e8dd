# make deb: the Debian packages, built by dpkg-buildpackage in a copy of
# the tree under $(BUILD)/deb (the .deb files land there, not in the
# checkout's parent).  Included by the top Makefile.

DEB_VERSION := $(shell sed -n '1s/.*(\(.*\)).*/\1/p' debian/changelog)
DEB_TREE    := $(BUILD)/deb/vpnws-$(DEB_VERSION)

.PHONY: deb
deb:
	@tools/ensure-deps build deb
	rm -rf $(BUILD)/deb
	mkdir -p $(DEB_TREE)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git ls-files -z --cached --others --exclude-standard \
	    | tar -c --null --ignore-failed-read -T - -f - 2>/dev/null \
	    | tar -x -C $(DEB_TREE); \
	else \
	    tar -c --exclude=./build -f - . | tar -x -C $(DEB_TREE); \
	fi
	cd $(DEB_TREE) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    dpkg-buildpackage -b -us -uc \
	    > $(BUILD)/deb/build.log 2>&1 \
	    || { tail -40 $(BUILD)/deb/build.log; exit 1; }
	lintian --fail-on error $(BUILD)/deb/*.changes \
	    | tee $(BUILD)/deb/lintian.log
	@ls $(BUILD)/deb/*.deb
