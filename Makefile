# clusterd - a supervisor for pre-forked network servers.
#
#   make run       install missing build dependencies, build, run the example
#   make check     the same set-up, then every test
#   make install   PREFIX=/usr/local DESTDIR=
#   make SANITIZE=1 check   the same under AddressSanitizer + UBSan
#   make WERROR=1  warnings are errors (CI)

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/sbin
UBINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
INCDIR	?= $(PREFIX)/include
SYSCONFDIR ?= /etc

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

# src/clusterd.h is the daemon's; include/clusterd.h the workers' helper.
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(SANFLAGS) $(CFLAGS) -MMD -MP
INIH_LIBS  = $(shell $(PKG_CONFIG) --libs inih 2>/dev/null || echo -linih)
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check 2>/dev/null || echo -lcheck)
LIBS	 = -lev $(INIH_LIBS) -lm

DAEMON_SRCS = $(filter-out src/clusterctl.c,$(wildcard src/*.c))
DAEMON_OBJS = $(DAEMON_SRCS:src/%.c=$(B)/src/%.o)
LIB_OBJS   = $(filter-out $(B)/src/main.o,$(DAEMON_OBJS))

UNIT_SRCS  = $(filter-out tests/check_daemon%.c,$(wildcard tests/check_*.c))
INTEG_SRCS = $(wildcard tests/check_daemon*.c)
TEST_BINS  = $(UNIT_SRCS:tests/%.c=$(B)/tests/%) \
	     $(INTEG_SRCS:tests/%.c=$(B)/tests/%)
WORKER_BINS = $(patsubst tests/workers/%.c,$(B)/tests/workers/%,\
	     $(wildcard tests/workers/*.c))
EXAMPLE_BINS = $(B)/examples/hello

.PHONY: all deps run check unit integration install uninstall clean bench

all: $(B)/clusterd clusterd examples/hello

# The plain build is also linked at the top, where the README runs it.
clusterd: $(B)/clusterd
ifneq ($(SANITIZE),1)
	ln -sf $(B)/clusterd $@
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

check: deps
	@sh build-aux/deps.sh test
	$(MAKE) all
	$(MAKE) unit integration

unit: $(TEST_BINS) $(WORKER_BINS)
	@set -e; for t in $(UNIT_SRCS:tests/%.c=$(B)/tests/%); do \
		echo "== $$t"; $$t; done

integration: $(B)/clusterd $(TEST_BINS) $(WORKER_BINS) $(EXAMPLE_BINS)
	@set -e; for t in $(INTEG_SRCS:tests/%.c=$(B)/tests/%); do \
		echo "== $$t"; \
		CLUSTERD_BIN=$(CURDIR)/$(B)/clusterd \
		TEST_WORKERS=$(CURDIR)/$(B)/tests/workers \
		EXAMPLES=$(CURDIR)/$(B)/examples \
		$$t; done

$(B)/clusterd: $(DAEMON_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(DAEMON_OBJS) $(LIBS)

$(B)/src/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -c -o $@ $<

$(B)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc $(CHECK_CFLAGS) -c -o $@ $<

$(B)/tests/check_daemon%: $(B)/tests/check_daemon%.o $(B)/tests/harness.o \
	    $(LIB_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

$(B)/tests/check_%: $(B)/tests/check_%.o $(LIB_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

$(B)/tests/workers/%: tests/workers/%.c include/clusterd.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iinclude $(LDFLAGS) -o $@ $<

$(B)/examples/%: examples/%.c include/clusterd.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iinclude $(LDFLAGS) -o $@ $<

install: $(B)/clusterd
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(INCDIR)
	install -m 0755 $(B)/clusterd $(DESTDIR)$(BINDIR)/clusterd
	install -m 0644 man/clusterd.8 $(DESTDIR)$(MANDIR)/man8/clusterd.8
	install -m 0644 man/clusterd.ini.5 \
	    $(DESTDIR)$(MANDIR)/man5/clusterd.ini.5
	install -m 0644 include/clusterd.h $(DESTDIR)$(INCDIR)/clusterd.h

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/clusterd \
	    $(DESTDIR)$(MANDIR)/man8/clusterd.8 \
	    $(DESTDIR)$(MANDIR)/man5/clusterd.ini.5 \
	    $(DESTDIR)$(INCDIR)/clusterd.h

clean:
	rm -rf build clusterd examples/hello

-include $(wildcard $(B)/src/*.d $(B)/tests/*.d)
