# SPDX-License-Identifier: ISC
#
# clusterd - a supervisor for pre-forked network servers.
#
#   make run       install missing build dependencies, build, run the example
#   make check     the same set-up, then every test
#   make install   PREFIX=/usr/local DESTDIR= (SYSTEMD_UNITDIR= for the units)
#   make installcheck   install into a scratch DESTDIR and check the result
#   make units     systemd-analyze verify the systemd units (part of check)
#   make SANITIZE=1 check   the same under AddressSanitizer + UBSan
#   make WERROR=1  warnings are errors (CI)
#   make fuzz      build the libFuzzer targets (clang) in build/fuzz and run
#                  each for FUZZ_SECONDS (60); FUZZ_TARGETS=json picks some
#   make soak      the soak and fault runs of bench/soak.py (minutes, not
#                  part of check); SANITIZE=1 runs them on the ASan build
#   make hardening build with dpkg-buildflags, check with hardening-check
#   make dist      build/dist/clusterd-VERSION.tar.gz, from git ls-files
#   make distcheck make dist, then make check in the unpacked tarball
#   make deb       dpkg-buildpackage; the packages land in build/deb/
#   make debcheck  the package's contents, maintainer scripts and lintian
#   make spdx      every file carries its SPDX-License-Identifier line
#
# CPPFLAGS, CFLAGS and LDFLAGS are the builder's (dpkg-buildflags sets
# all three); -std=c11, -D_GNU_SOURCE and the warnings are added to them.

# The one place the version is written: the binaries, the man pages, the
# tarball and debian/changelog (checked by build-aux/versioncheck.sh).
VERSION	:= $(shell cat VERSION 2>/dev/null)
ifeq ($(VERSION),)
$(error VERSION: cannot read the version file at the top of the tree)
endif

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/sbin
UBINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
INCDIR	?= $(PREFIX)/include
SYSCONFDIR ?= /etc
SYSTEMD_UNITDIR ?= $(PREFIX)/lib/systemd/system
# clusterd.pc describes a header only: it is the same on every
# architecture, so it goes where such files go, not under lib/.
PKGCONFIGDIR ?= $(PREFIX)/share/pkgconfig
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

CC	?= cc
CFLAGS	?= -O2 -g
PKG_CONFIG ?= pkg-config

WARN	 = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wformat=2
ifeq ($(WERROR),1)
WARN	+= -Werror
endif

# Sanitized objects live apart so the two builds never mix.
ifeq ($(SANITIZE),1)
B	 = build/san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
else
B	 = build/plain
SANFLAGS =
endif

# src/daemon.h is the daemon's internal header; include/clusterd.h is the
# header C workers include.  The warnings come after CFLAGS: Debian's
# -Wformat would otherwise turn -Wformat=2 back into -Wformat=1.
ALL_CPPFLAGS = -D_GNU_SOURCE -DCLUSTERD_VERSION=\"$(VERSION)\" $(CPPFLAGS)
ALL_CFLAGS = -std=c11 $(CFLAGS) $(WARN) $(SANFLAGS) -MMD -MP
INIH_LIBS  = $(shell $(PKG_CONFIG) --libs inih 2>/dev/null || echo -linih)
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check 2>/dev/null || echo -lcheck)
LIBS	 = -lev $(INIH_LIBS) -lm

DAEMON_SRCS = $(filter-out src/clusterctl.c,$(wildcard src/*.c))
DAEMON_OBJS = $(DAEMON_SRCS:src/%.c=$(B)/src/%.o)
LIB_OBJS   = $(filter-out $(B)/src/main.o,$(DAEMON_OBJS))
# clusterctl: the pure modules only, no libev at run time: the protocol,
# the JSON reader, the parsers, and the configuration reader (with inih)
# for -c CONFIG's control key.
CTL_OBJS   = $(B)/src/clusterctl.o $(B)/src/ctlproto.o $(B)/src/json.o \
	     $(B)/src/parse.o $(B)/src/config.o $(B)/src/cfgread.o \
	     $(B)/src/cfgkeys.o $(B)/src/cfgcheck.o $(B)/src/envfile.o \
	     $(B)/src/strv.o $(B)/src/utf8.o $(B)/src/log.o

UNIT_SRCS  = $(filter-out tests/check_daemon%.c,$(wildcard tests/check_*.c))
INTEG_SRCS = $(wildcard tests/check_daemon*.c)
TEST_BINS  = $(UNIT_SRCS:tests/%.c=$(B)/tests/%) \
	     $(INTEG_SRCS:tests/%.c=$(B)/tests/%)
WORKER_BINS = $(patsubst tests/workers/%.c,$(B)/tests/workers/%,\
	     $(wildcard tests/workers/*.c))
# A stand-in Node.js cluster primary on src/nodecl.c (tests/nodeprimary.c).
NODEPRIMARY = $(B)/tests/workers/nodeprimary
WORKER_BINS += $(NODEPRIMARY)
EXAMPLE_BINS = $(B)/examples/hello

MANPAGES   = clusterctl.1 clusterd.8 clusterd-ipc.7 clusterd.ini.5

.PHONY: all bins deps run check unit integration units install uninstall \
	installcheck clean bench hardening dist distcheck deb debcheck spdx \
	fuzz fuzz-build soak
# keep test objects between runs
.SECONDARY:

all: $(B)/clusterd clusterd $(B)/clusterctl clusterctl examples/hello

# The two programs alone, in $(B): what a package build needs.
bins: $(B)/clusterd $(B)/clusterctl

# The plain build is also linked at the top, where the README runs it.
clusterd: $(B)/clusterd
ifneq ($(SANITIZE),1)
	ln -sf $(B)/clusterd $@
else
	@true
endif

clusterctl: $(B)/clusterctl
ifneq ($(SANITIZE),1)
	ln -sf $(B)/clusterctl $@
else
	@true
endif

examples/hello: $(B)/examples/hello
ifneq ($(SANITIZE),1)
	ln -sf ../$(B)/examples/hello $@
else
	@true
endif

deps:
	@sh build-aux/deps.sh build

run: deps
	$(MAKE) all
	./clusterd -c conf/example.ini

# Every suite runs even after a failure; the last line sums them all.
check: deps
	@sh build-aux/deps.sh test
	$(MAKE) all
	@rm -f $(B)/check.log
	@$(MAKE) -k unit integration units; rc=$$?; \
	sh build-aux/summary.sh $(B)/check.log && exit $$rc

# SRCDIR: check_completion sources completion/clusterctl.bash.
unit: $(TEST_BINS) $(WORKER_BINS)
	@SRCDIR=$(CURDIR) sh build-aux/runtests.sh $(B)/check.log \
	    $(UNIT_SRCS:tests/%.c=$(B)/tests/%)

integration: $(B)/clusterd $(B)/clusterctl $(TEST_BINS) $(WORKER_BINS) \
	    $(EXAMPLE_BINS)
	@CLUSTERD_BIN=$(CURDIR)/$(B)/clusterd \
	CLUSTERCTL_BIN=$(CURDIR)/$(B)/clusterctl \
	SRCDIR=$(CURDIR) \
	TEST_WORKERS=$(CURDIR)/$(B)/tests/workers \
	EXAMPLES=$(CURDIR)/$(B)/examples \
	sh build-aux/runtests.sh $(B)/check.log \
	    $(INTEG_SRCS:tests/%.c=$(B)/tests/%)

# Zero-downtime reloads under load, idle cost, request-path cost: see
# bench/README.md.  Needs wrk, python3 and systemd-socket-activate.
bench: $(B)/clusterd $(EXAMPLE_BINS) $(WORKER_BINS)
	sh bench/run.sh $(B)

# Fuzzing: each tests/fuzz/fuzz_NAME.c is a libFuzzer target, linked with
# every daemon module but main.c and with tests/fuzz/fuzzutil.c; its seeds
# are tests/fuzz/corpus/NAME/, its dictionary tests/fuzz/NAME.dict if any.
# A new target is that one file.  Built apart (build/fuzz), always with
# clang, libFuzzer, ASan and UBSan; tests/fuzz/run.sh fails on any finding.
FUZZ_CC	?= clang
FUZZ_SECONDS ?= 60
FB	 = build/fuzz
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	   -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -DCLUSTERD_VERSION=\"$(VERSION)\" $(WARN) -g \
	      -O1 $(FUZZ_SAN) -MMD -MP
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TARGETS ?= $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_OBJS = $(patsubst src/%.c,$(FB)/src/%.o,\
	    $(filter-out src/main.c,$(DAEMON_SRCS))) $(FB)/tests/fuzz/fuzzutil.o

fuzz-build: $(FUZZ_TARGETS:%=$(FB)/fuzz_%)

fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FB) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

$(FB)/fuzz_%: $(FB)/tests/fuzz/fuzz_%.o $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(LIBS)

$(FB)/src/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -Isrc -c -o $@ $<

$(FB)/tests/fuzz/%.o: tests/fuzz/%.c tests/fuzz/fuzz.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -Isrc -c -o $@ $<

# Soak and faults (bench/README.md): minutes long, so not part of check or
# CI; the results are appended to bench/RESULTS.md.
# SOAK_ARGS="--only ab --kill-seconds 20" picks and shortens scenarios.
soak: $(B)/clusterd $(B)/clusterctl $(EXAMPLE_BINS) $(B)/bench/spawnloop
	python3 bench/soak.py --build $(B) --results bench/RESULTS.md \
	    $(if $(filter 1,$(SANITIZE)),--sanitize) $(SOAK_ARGS)

# The baseline loop is no code under test: never sanitized.
$(B)/bench/spawnloop: bench/spawnloop.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $<

# The units as make install writes them, but run from the build tree, and
# their man pages found in man/: systemd-analyze verify checks both.  It
# only warns about unknown keys, so any output is a failure.
UNITS_IN = clusterd.service clusterd@.service
units: $(B)/clusterd
	@set -e; d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	for u in $(UNITS_IN); do \
		sed -e 's|@SBINDIR@|$(CURDIR)/$(B)|g' \
		    -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		    systemd/$$u.in >"$$d/$$u"; done; \
	cp systemd/clusterd.socket "$$d/"; \
	for m in $(MANPAGES); do mkdir -p "$$d/man/man$${m##*.}"; \
		cp man/$$m "$$d/man/man$${m##*.}/"; done; \
	man=yes; command -v man >/dev/null || man=no; \
	out=$$(cd "$$d" && MANPATH="$$d/man" systemd-analyze verify \
	    --man=$$man ./clusterd.service ./clusterd@test.service \
	    ./clusterd.socket 2>&1) || { echo "$$out"; exit 1; }; \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	echo "systemd-analyze verify: $(UNITS_IN) clusterd.socket: ok"

$(B)/clusterd: $(DAEMON_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(DAEMON_OBJS) $(LIBS)

$(B)/clusterctl: $(CTL_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CTL_OBJS) $(INIH_LIBS) -lm

$(B)/src/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Isrc -c -o $@ $<

$(B)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Isrc $(CHECK_CFLAGS) -c -o $@ $<

# A new version reaches every object that might print it.
$(DAEMON_OBJS) $(B)/src/clusterctl.o: VERSION

# Integration tests drive the real daemon from outside: harness only.
INTEG_BINS = $(INTEG_SRCS:tests/%.c=$(B)/tests/%)
$(INTEG_BINS): $(B)/tests/%: $(B)/tests/%.o $(B)/tests/harness.o
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS)
# ... and json.c, to read clusterctl --json replies back.
$(B)/tests/check_daemon_ctl: $(B)/src/json.o
$(B)/tests/check_daemon_core: $(B)/src/json.o
# ... and openpty(3), in libutil before glibc 2.34.
$(B)/tests/check_daemon_ctl: CHECK_LIBS += -lutil

$(B)/tests/check_%: $(B)/tests/check_%.o $(LIB_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

# The lifecycle's unit tests: a fake spawner and clock (tests/fake) stand
# in for worker.c and timer.c.
FAKE_OBJS = $(B)/tests/fake/fake_worker.o $(B)/tests/fake/fake_timer.o
$(B)/tests/check_slot: $(B)/tests/check_slot.o $(FAKE_OBJS) \
	    $(filter-out $(B)/src/worker.o $(B)/src/timer.o,$(LIB_OBJS))
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

$(NODEPRIMARY): $(B)/tests/nodeprimary.o $(B)/src/nodecl.o $(B)/src/json.o
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^

$(B)/tests/workers/%: tests/workers/%.c include/clusterd.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Iinclude $(LDFLAGS) -o $@ $<

$(B)/examples/%: examples/%.c include/clusterd.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Iinclude $(LDFLAGS) -o $@ $<

# The man pages get the version in their footer (.Os); in the tree they
# say .Os alone, so that man ./man/clusterd.8 renders them as they are.
install: $(B)/clusterd $(B)/clusterctl
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UBINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(INCDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSTEMD_UNITDIR)
	install -m 0755 $(B)/clusterd $(DESTDIR)$(BINDIR)/clusterd
	install -m 0755 $(B)/clusterctl $(DESTDIR)$(UBINDIR)/clusterctl
	set -e; for m in $(MANPAGES); do \
		f=$(DESTDIR)$(MANDIR)/man$${m##*.}/$$m; \
		sed 's/^\.Os$$/.Os clusterd $(VERSION)/' man/$$m >"$$f"; \
		chmod 0644 "$$f"; done
	install -m 0644 include/clusterd.h $(DESTDIR)$(INCDIR)/clusterd.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' include/clusterd.pc.in \
	    >$(DESTDIR)$(PKGCONFIGDIR)/clusterd.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/clusterd.pc
	install -m 0644 completion/clusterctl.bash \
	    $(DESTDIR)$(BASHCOMPDIR)/clusterctl
	set -e; for u in $(UNITS_IN); do \
		sed -e 's|@SBINDIR@|$(BINDIR)|g' \
		    -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/$$u.in \
		    >$(DESTDIR)$(SYSTEMD_UNITDIR)/$$u; \
		chmod 0644 $(DESTDIR)$(SYSTEMD_UNITDIR)/$$u; done
	install -m 0644 systemd/clusterd.socket \
	    $(DESTDIR)$(SYSTEMD_UNITDIR)/clusterd.socket

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/clusterd \
	    $(DESTDIR)$(UBINDIR)/clusterctl \
	    $(DESTDIR)$(MANDIR)/man1/clusterctl.1 \
	    $(DESTDIR)$(MANDIR)/man8/clusterd.8 \
	    $(DESTDIR)$(MANDIR)/man7/clusterd-ipc.7 \
	    $(DESTDIR)$(MANDIR)/man5/clusterd.ini.5 \
	    $(DESTDIR)$(INCDIR)/clusterd.h \
	    $(DESTDIR)$(PKGCONFIGDIR)/clusterd.pc \
	    $(DESTDIR)$(BASHCOMPDIR)/clusterctl \
	    $(DESTDIR)$(SYSTEMD_UNITDIR)/clusterd.service \
	    $(DESTDIR)$(SYSTEMD_UNITDIR)/clusterd@.service \
	    $(DESTDIR)$(SYSTEMD_UNITDIR)/clusterd.socket

# make install into a scratch DESTDIR with an unusual PREFIX: every file
# in place, the version everywhere, a C worker built through pkg-config
# alone, and make uninstall leaving nothing behind.
installcheck: $(B)/clusterd $(B)/clusterctl
	@sh build-aux/installcheck.sh "$(MAKE)" $(VERSION)

# The binaries built as a Debian package builds them, in a directory of
# their own, then checked: PIE, full RELRO, stack protector, fortified
# calls.  Control-flow protection (-fcf-protection) is not among Debian
# 12's flags, so not required.  Needs dpkg-dev and devscripts.
HARDEN_B = build/hardening
hardening:
	@command -v dpkg-buildflags >/dev/null && \
	    command -v hardening-check >/dev/null || \
	    { echo "make hardening needs dpkg-buildflags (dpkg-dev) and" \
	    "hardening-check (devscripts)" >&2; exit 1; }
	@set -e; export DEB_BUILD_MAINT_OPTIONS=hardening=+all; \
	$(MAKE) --no-print-directory B=$(HARDEN_B) SANITIZE= \
	    CPPFLAGS="$$(dpkg-buildflags --get CPPFLAGS)" \
	    CFLAGS="$$(dpkg-buildflags --get CFLAGS)" \
	    LDFLAGS="$$(dpkg-buildflags --get LDFLAGS)" bins
	hardening-check --nocfprotection $(HARDEN_B)/clusterd \
	    $(HARDEN_B)/clusterctl

# The release tarball: every file git tracks but .ci/ and .gitignore,
# under clusterd-VERSION/.  distcheck proves it is enough to build and
# test: WERROR= and the like pass through to its make check.
DIST	= clusterd-$(VERSION)
dist:
	@sh build-aux/versioncheck.sh
	@sh build-aux/dist.sh $(VERSION) build/dist

# The directory is opened up (mktemp makes it 0700): some integration
# tests run their workers as nobody.
distcheck: dist
	@set -e; d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	chmod 0755 "$$d"; \
	tar -xzf build/dist/$(DIST).tar.gz -C "$$d"; \
	echo "== make check in $$d/$(DIST)"; \
	$(MAKE) -C "$$d/$(DIST)" check; \
	echo "distcheck: build/dist/$(DIST).tar.gz builds and passes" \
	    "make check"

# dpkg-buildpackage writes into the parent directory; make deb moves what
# it wrote to build/deb/.
deb:
	@sh build-aux/versioncheck.sh
	@sh build-aux/deb.sh $(VERSION) build/deb

debcheck:
	@sh build-aux/debcheck.sh $(VERSION) build/deb

spdx:
	@sh build-aux/spdx.sh check

clean:
	rm -rf build clusterd clusterctl examples/hello

-include $(wildcard $(B)/src/*.d $(B)/tests/*.d $(B)/tests/fake/*.d \
	$(FB)/src/*.d $(FB)/tests/fuzz/*.d)
