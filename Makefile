# SPDX-License-Identifier: GPL-2.0
#
# rprobes: user-facing targets. Kbuild reads ./Kbuild for the module itself.
#
#   make            build rprobes.ko against the cached guest kernel
#   make check      host cargo test, a deterministic fuzz run, the QEMU guest test
#                   suite on the main kernel and, at the same time, on the
#                   debug kernel (KASAN, lockdep, kmemleak, ...;
#                   qemu/kernel-debug.config): what CI runs
#   make check-main the same without the debug kernel (quicker)
#   make guest-test-debug   the guest suite on the debug kernel only
#   make fuzz       the cargo-fuzz targets, FUZZ_LONG seconds each
#   make run        boot the guest: a kernel, a return and user probes at work (tests/guest/demo.sh)
#   make shell      interactive guest shell with rprobes loaded
#   make bench      probe costs vs the kernel's own mechanisms (BENCH=REPS,ITERS,NPROBES)
#   make stress     the stress and fault-injection tests at full size, 4 vCPUs
#   make stress-debug   the same two tests on the debug kernel (hours)
#   make lint       import cycles, checks that cannot fail, rustfmt, clippy (CLIPPY=1) + W=e
#   make rust-analyzer   write rust-project.json
#
# Everything is installed and built on first use by scripts/setup (cache:
# $RPROBES_CACHE, default ~/.cache/rprobes).

export RPROBES_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rprobes
LLVM_VER := 19
KVARS = ARCH=x86_64 LLVM=-$(LLVM_VER) RUSTC=/usr/bin/rustc \
	BINDGEN=$(RPROBES_CACHE)/tools/bin/bindgen
KMAKE = $(MAKE) -C "$$kdir" M=$(CURDIR) $(KVARS)
export LIBCLANG_PATH := /usr/lib/llvm-$(LLVM_VER)/lib
KDIR_SH = kdir=$$(scripts/setup --kdir) || exit 1
KDIR_DEBUG_SH = kdir=$$(scripts/setup --debug --kdir) || exit 1
QEMU_TIMEOUT ?= 1800
# The debug suite runs as DEBUG_SHARDS guests side by side, each with part
# of the tests (scripts/run-qemu --shard: dealt out by the tests'
# `# debug-cost:` lines) and QEMU_TIMEOUT_DEBUG seconds: some 400 s of
# CPU each (KASAN inline; it was some 2500 s with KASAN outline), so that
# with the main suite beside them both host cores stay busy to the end.
DEBUG_SHARDS ?= 2
QEMU_TIMEOUT_DEBUG ?= 3600
# Workload size of the guest tests on the debug kernel (tests/guest/lib.sh SCALE):
# there a probe hit costs some 5 times more, a module load and unload about
# a second and a fork+exec 0.1 s, so the heavy tests run a twentieth of their iterations
# (SCALE_DEBUG=1: all of them). What the debug kernel checks (locking,
# memory safety, leaks) needs the paths, not the volume.
SCALE_DEBUG ?= 0.05
# The module for the debug kernel. Kbuild puts objects next to the sources
# (and src/sys/bindings.rs includes ../../generated/), so it builds a copy of the
# sources: the two builds never share an object file, and both stay
# incremental (cpio -m keeps the mtimes).
DEBUG_MOD := build/debug-mod
BENCH ?= 5,200000,1000
# Per fuzz target: inputs of the deterministic run in `make check`
# (fixed seed, committed seeds), and seconds of exploring in `make fuzz`.
FUZZ_RUNS ?= 300000
FUZZ_LONG ?= 600

.PHONY: all modules modules-debug setup check host-test fuzz fuzz-smoke guest-test guest-test-debug \
	guest-test-both guest-run guest-run-debug check-main \
	run shell bench lint rust-analyzer clean

all: modules

setup:
	scripts/setup

# objtool only warns; for rprobes any objtool report fails the build.
modules:
	@mkdir -p build; $(KDIR_SH); \
	{ $(KMAKE) W=1 modules 2>&1; echo $$? >build/.modules.rc; } | tee build/modules.log; \
	[ "$$(cat build/.modules.rc)" = 0 ] || exit 1; \
	if grep -q 'objtool:' build/modules.log; then echo "objtool reported problems" >&2; exit 1; fi

modules-debug:
	@mkdir -p $(DEBUG_MOD); $(KDIR_DEBUG_SH); \
	find Kbuild scripts/gen-bindings src tests/guest/mods -type f \( -name Kbuild -o -name gen-bindings \
		-o -name '*.rs' -o -name '*.c' -o -name '*.h' \) ! -name '*.mod.c' | \
		cpio -pdmu --quiet $(DEBUG_MOD) || exit 1; \
	{ $(MAKE) -C "$$kdir" M=$(CURDIR)/$(DEBUG_MOD) $(KVARS) W=1 modules 2>&1; echo $$? >build/.modules-debug.rc; } | \
		tee build/modules-debug.log; \
	[ "$$(cat build/.modules-debug.rc)" = 0 ] || exit 1; \
	if grep -q 'objtool:' build/modules-debug.log; then echo "objtool reported problems" >&2; exit 1; fi

host-test:
	scripts/host-test

fuzz-smoke:
	scripts/fuzz --smoke $(FUZZ_RUNS)

fuzz:
	scripts/fuzz $(FUZZ_LONG)

RUN_MAIN = $(KDIR_SH); scripts/run-qemu --kdir "$$kdir" --timeout $(QEMU_TIMEOUT) check
RUN_DEBUG = $(KDIR_DEBUG_SH); scripts/run-qemu --kdir "$$kdir" --module $(DEBUG_MOD)/rprobes.ko \
	--debug --scale $(SCALE_DEBUG) --timeout $(QEMU_TIMEOUT_DEBUG) --shard $*/$(DEBUG_SHARDS) check
DEBUG_RUNS := $(foreach k,$(shell seq $(DEBUG_SHARDS)),guest-run-debug-$(k))
# Adds up the results of the runs named by $(1) (main, debug-1, ...): any
# missing result is a failure.
SUM_RESULTS = rc=$$rc; tp=0; tf=0; line=""; \
	for r in $(1); do \
		read -r p f <build/check-$$r-result || { p=0; f=1; }; \
		tp=$$((tp + p)); tf=$$((tf + f)); line="$$line $$r $$p/$$f"; \
	done; \
	echo "\# guest suites (passed/failed):$$line"; \
	echo "$$tp passed, $$tf failed"; \
	[ "$$tf" = 0 ] || rc=1; exit $$rc

guest-test: modules
	@$(RUN_MAIN)

guest-test-debug: modules-debug
	@rm -f build/check-debug-*-result; rc=0; \
	$(MAKE) --no-print-directory -j$(DEBUG_SHARDS) -Otarget $(DEBUG_RUNS) || rc=1; \
	$(call SUM_RESULTS,$(DEBUG_RUNS:guest-run-%=%))

# Both suites at once, once both kernels and modules are built (one after
# the other: the set-up may install packages): a TCG guest runs on one
# host thread, so the main suite and the debug shards share the host's
# cores (2 in CI: the main suite takes some 300 s beside the others, the
# debug shards some 500 s each). Each run's output comes as a whole when
# it ends (-Otarget).
guest-test-both: modules modules-debug
	@rm -f build/check-main-result build/check-debug-*-result; rc=0; \
	$(MAKE) --no-print-directory -j$$(($(DEBUG_SHARDS) + 1)) -Otarget guest-run $(DEBUG_RUNS) || rc=1; \
	$(call SUM_RESULTS,main $(DEBUG_RUNS:guest-run-%=%))

guest-run:
	@$(RUN_MAIN)

guest-run-debug-%:
	@$(RUN_DEBUG)

# What CI runs: the guest suite on both kernels at once.
check: host-test fuzz-smoke guest-test-both

# The same without the debug kernel: a quicker loop while developing.
check-main: host-test fuzz-smoke guest-test

run: modules
	@$(KDIR_SH); scripts/run-qemu --kdir "$$kdir" --timeout 300 run

bench: modules
	@$(KDIR_SH); scripts/run-qemu --kdir "$$kdir" --timeout 1800 --bench $(BENCH) bench

# tests stress/stress and stress/failslab at full size on 4 vCPUs (`make check`
# runs them at their normal size on 2): the sizes reach the guest tests
# through the kernel command line. About 20 M hits, 100 insmod/rmmod
# cycles, every allocation of the module load's tail failed in turn, 1000
# random operations with faults.
STRESS_ENV ?= STRESS_SG_CALLS=3000000 STRESS_READS=2000000 STRESS_MIN_HITS=20000000 \
	STRESS_CYCLES=100 STRESS_SLAB_SLACK_KB=256 FAILSLAB_INSMOD_HEAD=40 FAILSLAB_INSMOD_STRIDE=23 \
	FAILSLAB_INSMOD_TAIL=160 FAILSLAB_INSMOD_STEP=1 FAILSLAB_RANDOM_OPS=1000 \
	RPROBES_TEST_TIMEOUT=3000
.PHONY: stress
stress: modules
	@$(KDIR_SH); RPROBES_TESTS='stress/*' RPROBES_CMDLINE="$(STRESS_ENV)" \
		scripts/run-qemu --kdir "$$kdir" --smp 4 --timeout 7200 check

# The same two tests on the debug kernel, at their full default size
# (SCALE 1: 10 M hits, 15 cycles, every sweep) unless STRESS_DEBUG_ENV
# says more (e.g. STRESS_CYCLES=100). Hours under TCG: a module load alone
# takes some 20 s there. 4 vCPUs, like `make stress` (STRESS_DEBUG_SMP).
# Not part of `make check`.
STRESS_DEBUG_ENV ?= RPROBES_TEST_TIMEOUT=14000
STRESS_DEBUG_TESTS ?= stress/*
STRESS_DEBUG_SMP ?= 4
.PHONY: stress-debug
stress-debug: modules-debug
	@$(KDIR_DEBUG_SH); RPROBES_TESTS='$(STRESS_DEBUG_TESTS)' RPROBES_CMDLINE="$(STRESS_DEBUG_ENV)" \
		scripts/run-qemu --kdir "$$kdir" --module $(DEBUG_MOD)/rprobes.ko --debug \
		--smp $(STRESS_DEBUG_SMP) --scale $(or $(STRESS_DEBUG_SCALE),1) --timeout 28800 check

shell: modules
	@$(KDIR_SH); scripts/run-qemu --kdir "$$kdir" shell

# Import cycles between the top-level modules of src/ fail the lint too
# (scripts/check-cycles names them), and so do guest-test checks that
# cannot fail (scripts/check-tests: `check` in a pipeline, in $(...), or
# before && / ||; scripts/run-qemu refuses to run such a suite too).
lint:
	@scripts/check-cycles || exit 1; \
	scripts/check-tests || exit 1; \
	$(KDIR_SH); \
	rustfmt --check --edition 2021 --config-path "$$kdir/source/.rustfmt.toml" \
		src/rprobes_main.rs src/core_lib.rs src/bin/rprobes-insn.rs tests/host/*.rs || exit 1; \
	rm -f src/rprobes_main.o; \
	$(KMAKE) CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver W=e modules

rust-analyzer:
	@$(KDIR_SH); $(KMAKE) rust-analyzer

clean:
	@if [ -d "$(RPROBES_CACHE)/kernel/main" ]; then \
		$(MAKE) -C "$(RPROBES_CACHE)/kernel/main" M=$(CURDIR) clean; fi
	rm -rf build target generated
