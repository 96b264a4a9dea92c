# PatchBench — top-level entry points. `make help` lists them.
#
# Every target that needs the system libraries depends on `setup`, which installs the Debian
# packages once (idempotently: it asks dpkg first and only calls apt-get for what is missing).

SHELL := /bin/bash
APT_PACKAGES := libopenblas-dev libhdf5-dev libpng-dev libturbojpeg0-dev libssl-dev pkg-config dataset-fashion-mnist
SWIFT_CONFIG ?= release
SWIFT_FLAGS := -c $(SWIFT_CONFIG)
PATCHBENCH := .build/$(SWIFT_CONFIG)/patchbench
# BLAS threads are pinned so results are reproducible; record them with every number.
THREADS ?= 2
export OPENBLAS_NUM_THREADS := $(THREADS)

.PHONY: help setup build test bench-anchor clean

help:
	@echo "PatchBench targets:"
	@echo "  make setup        install the Debian packages PatchBench needs (idempotent)"
	@echo "  make build        build the patchbench CLI ($(SWIFT_CONFIG))"
	@echo "  make test         build and run the whole test suite"
	@echo "  make bench-anchor run patchbench bench next to the PyTorch anchor (needs torch)"
	@echo "Variables: THREADS=$(THREADS) SWIFT_CONFIG=$(SWIFT_CONFIG)"

setup:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "setup: all Debian packages present"; fi

build: setup
	swift build $(SWIFT_FLAGS) --product patchbench

# Numeric tests run optimised: debug builds are 16-550x slower (../shared/docs/swift-stack.md).
test: setup
	swift build $(SWIFT_FLAGS) --build-tests
	swift test $(SWIFT_FLAGS) --skip-build

clean:
	rm -rf .build
