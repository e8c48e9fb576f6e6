# SPDX-License-Identifier: GPL-2.0
#
# rmpage: the module builds the standard Kbuild way against $(KDIR); the
# other targets drive the set-up, the VM and the benchmarks (see README.md).

LLVM ?= -19
KDIR ?= $(shell bash scripts/kdir.sh debug)

.PHONY: all modules clean setup demo check matrix soak bench profile host-test clippy fmt fmt-check

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) modules

clippy:
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) CLIPPY=1 modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) clean
	rm -f rust-bindings/generated.rs rust-bindings/.generated.rs.cmd

setup:
	bash scripts/setup.sh debug

demo:
	bash scripts/demo.sh

check:
	bash scripts/check.sh

# The namespace, fsx and program tests on every configuration: rext2 with
# each engine and the C ext2, at 1, 2 and 4 KiB blocks where the test
# takes a block size (make check runs a subset, for its time).
matrix:
	RMPAGE_NS_BS="1024 2048 4096" RMPAGE_NS_C_BS="1024 2048 4096" \
	RMPAGE_NS_BULK_CONFIGS="rust c ext2" RMPAGE_NS_EMLINK_CONFIGS="ext2 rust c" \
	RMPAGE_FSX_CONFIGS="rust c ext2" RMPAGE_PROGRAMS_CONFIGS="rust c ext2" \
	RMPAGE_TEST_TIMEOUT=5400 RMPAGE_VM_TIMEOUT=7200 RMPAGE_RESULTS=$(CURDIR)/results/matrix \
	bash scripts/check.sh tests/11-namespace.sh tests/12-fsx.sh tests/13-programs.sh

soak:
	bash scripts/soak.sh

bench:
	bash scripts/bench.sh

profile:
	bash scripts/profile.sh

host-test:
	cd tests/host && cargo test --quiet

fmt:
	rustfmt --edition 2021 src/rmpage.rs tests/host/src/lib.rs

fmt-check:
	rustfmt --edition 2021 --check src/rmpage.rs tests/host/src/lib.rs
