# SPDX-License-Identifier: GPL-2.0
#
# rmpage: the module builds the standard Kbuild way against $(KDIR); the
# other targets drive the set-up, the VM and the benchmarks (see README.md).

LLVM ?= -19
KDIR ?= $(shell bash scripts/kdir.sh debug)

.PHONY: all modules clean setup demo check soak bench host-test clippy fmt fmt-check

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

soak:
	bash scripts/soak.sh

bench:
	bash scripts/bench.sh

host-test:
	cd tests/host && cargo test --quiet

fmt:
	rustfmt --edition 2021 src/rmpage.rs tests/host/src/lib.rs

fmt-check:
	rustfmt --edition 2021 --check src/rmpage.rs tests/host/src/lib.rs
