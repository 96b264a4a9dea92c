# PatchBench — top-level entry points. `make help` lists them.
#
# Every target that needs the system libraries depends on `setup`, which installs the Debian
# packages once (idempotently: it asks dpkg first and calls apt-get only for what is missing).
# The reproduction is a chain of file targets (packs → encoder.h5 → eval/<probe>.json →
# results tables), so `make -j2` runs independent work in parallel and an interrupted
# reproduction resumes where it stopped (pretraining itself resumes from its checkpoint).

SHELL := /bin/bash
APT_PACKAGES := libopenblas-dev libhdf5-dev libpng-dev libturbojpeg0-dev libssl-dev zlib1g-dev pkg-config dataset-fashion-mnist
SWIFT_CONFIG ?= release
PATCHBENCH := .build/$(SWIFT_CONFIG)/patchbench
THREADS ?= 2

# The method table (Sources/Harness/Methods.swift) is the one list of methods: `patchbench
# methods --make` writes its default METHODS (TABLE_METHODS) and measured rates (RATE_<name>) to
# $(METHODS_MK), which is included here. It is rewritten after every build, only when its text
# changes (make then restarts once); goals that need no method do not build for it.
METHODS_MK := .build/methods.mk
ifneq ($(filter-out help setup build unit-test clean,$(or $(MAKECMDGOALS),help)),)
include $(METHODS_MK)
endif

# Reproduction settings.
BUDGET ?= tiny
SEEDS ?= 0 1 2
# Implemented methods (the table's); random-init is the untrained floor every method must beat.
METHODS ?= $(TABLE_METHODS)
PROBES ?= linear knn seg det
RUNS_DIR ?= runs
RESULTS_DIR ?= results
DATA ?= datasets/default
CLS_PACK ?= $(DATA)/fashion-mnist.h5
SEG_PACK ?= $(DATA)/fmnist-scenes-ade.h5
DET_PACK ?= $(DATA)/fmnist-scenes-coco.h5
DEFAULT_PACKS := datasets/default/fashion-mnist.h5 datasets/default/fmnist-scenes-ade.h5 datasets/default/fmnist-scenes-coco.h5
GOLDEN ?= $(RESULTS_DIR)/goldens/smoke.json
# Extra flags for every `patchbench eval` (the smoke regression limits the images).
EVAL_FLAGS ?=
SMOKE_EVAL_FLAGS := --train-limit 6000 --test-limit 2000

.PHONY: help setup build test unit-test smoke-check reproduce-all reproduce-ablations plan plan-ablations data tables bench-anchor golden clean FORCE

help:
	@echo "PatchBench"
	@echo "  make reproduce-all  convert data, pretrain every method and seed, evaluate, write results/<budget>/v<N>/"
	@echo "  make test           unit tests + the smoke-budget regression against $(GOLDEN) (what CI runs)"
	@echo "  make plan           what reproduce-all would run, with a time estimate (make -n shows the commands)"
	@echo "  make reproduce-ablations  RandSAC's serialization arms, ABLATION_SEEDS='$(ABLATION_SEEDS)' (plan-ablations estimates it)"
	@echo "  make data           build the embedded default packs in datasets/default/"
	@echo "  make setup          install the Debian packages PatchBench needs (idempotent)"
	@echo "  make bench-anchor   patchbench bench next to the PyTorch anchor (needs torch)"
	@echo "Variables: BUDGET=$(BUDGET) SEEDS='$(SEEDS)' METHODS='$(METHODS)' PROBES='$(PROBES)'"
	@echo "           DATA=$(DATA) (or CLS_PACK/SEG_PACK/DET_PACK) THREADS=$(THREADS) RUNS_DIR=$(RUNS_DIR)"

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
	swift build -c $(SWIFT_CONFIG) --product patchbench

$(METHODS_MK): FORCE | build
	@$(PATCHBENCH) methods --make > $@.tmp && { cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@; }

# Numeric tests run optimised: debug builds are 16-550x slower (../shared/docs/swift-stack.md).
unit-test: setup
	swift build -c $(SWIFT_CONFIG) --build-tests
	swift test -c $(SWIFT_CONFIG) --skip-build

test: unit-test smoke-check

# --- data -----------------------------------------------------------------------------------
data: $(DEFAULT_PACKS)

$(DEFAULT_PACKS) &: | build
	$(PATCHBENCH) make-default --out datasets/default

# --- pretraining and evaluation, one file target per run and probe ---------------------------
pack_for = $(if $(filter seg,$(1)),$(SEG_PACK),$(if $(filter det,$(1)),$(DET_PACK),$(CLS_PACK)))
run_dir = $(RUNS_DIR)/$(BUDGET)/$(1)/seed$(2)

define RUN_RULES
$(call run_dir,$(1),$(2))/encoder.h5: | $(CLS_PACK) build
	$(PATCHBENCH) pretrain --method $(1) --budget $(BUDGET) --seed $(2) --data $(CLS_PACK) \
	  --out $(call run_dir,$(1),$(2)) --threads $(THREADS) --progress lines
endef

define EVAL_RULES
$(call run_dir,$(1),$(2))/eval/$(3).json: $(call run_dir,$(1),$(2))/encoder.h5 | $(call pack_for,$(3)) build
	$(PATCHBENCH) eval $(3) --checkpoint $$< --data $(call pack_for,$(3)) --out $$@ \
	  --threads $(THREADS) --cache-dir $(call run_dir,$(1),$(2))/features $(EVAL_FLAGS)
endef

$(foreach m,$(METHODS),$(foreach s,$(SEEDS),$(eval $(call RUN_RULES,$(m),$(s)))))
$(foreach m,$(METHODS),$(foreach s,$(SEEDS),$(foreach p,$(PROBES),$(eval $(call EVAL_RULES,$(m),$(s),$(p))))))

EVALS := $(foreach m,$(METHODS),$(foreach s,$(SEEDS),$(foreach p,$(PROBES),$(call run_dir,$(m),$(s))/eval/$(p).json)))

# Tables go into the budget's latest results version, results/<budget>/v<N>/ (v1 is created the
# first time); a new version is made explicitly with `patchbench tables --new-version`. Results are
# versioned per budget, so a run of one budget never rewrites another budget's results.
tables: $(EVALS) | build
	@if ls -d $(RESULTS_DIR)/$(BUDGET)/v[0-9]* >/dev/null 2>&1; then \
	  $(PATCHBENCH) tables --budget $(BUDGET) --runs $(RUNS_DIR) --claims $(RESULTS_DIR)/claims.json --out $(RESULTS_DIR); \
	else \
	  $(PATCHBENCH) tables --budget $(BUDGET) --runs $(RUNS_DIR) --claims $(RESULTS_DIR)/claims.json --out $(RESULTS_DIR) --new-version; \
	fi

reproduce-all: tables

# RandSAC's serialization study (Tables 1-6 of the paper): its ablation arms, ABLATION_SEEDS seeds
# each, into the same runs/ and results version as reproduce-all. `make plan-ablations` estimates it.
ABLATION_SEEDS ?= 0 1
reproduce-ablations: | build $(METHODS_MK)
	$(MAKE) --no-print-directory reproduce-all METHODS="$(ABLATION_METHODS)" SEEDS="$(ABLATION_SEEDS)"

plan-ablations: | build $(METHODS_MK)
	@$(MAKE) --no-print-directory plan METHODS="$(ABLATION_METHODS)" SEEDS="$(ABLATION_SEEDS)"

# Pretraining rates come from the method table (RATE_<name>, images/s at tiny on 2 cores, Zen 5);
# a method without a measured rate is estimated at the slowest measured one.
EVAL_MINUTES_PER_RUN := 7

plan:
	@n_runs=$$(( $(words $(METHODS)) * $(words $(SEEDS)) )); \
	images=$$(grep -o '"images_seen": *[0-9]*' configs/budgets/$(BUDGET).json | grep -o '[0-9]*$$'); \
	echo "budget $(BUDGET): $$n_runs pretraining runs ($(METHODS) x seeds $(SEEDS)), $$images images seen each"; \
	echo "  $$(( n_runs * $(words $(PROBES)) )) evaluations ($(PROBES)), then the tables in $(RESULTS_DIR)/"; \
	slowest=0; for r in $(foreach m,$(TABLE_METHODS),$(RATE_$(m))); do \
	  if [ $$r -gt 0 ] && { [ $$slowest = 0 ] || [ $$r -lt $$slowest ]; }; then slowest=$$r; fi; done; \
	minutes=0; for pair in $(foreach m,$(METHODS),$(m)=$(or $(RATE_$(m)),0)); do \
	  m=$${pair%%=*}; r=$${pair#*=}; \
	  if [ $$m = random-init ]; then continue; fi; \
	  if [ $$r = 0 ]; then r=$$slowest; note=" (not measured: the slowest method's rate)"; else note=""; fi; \
	  t=$$(( images / r / 60 + 1 )); echo "  $$m: ~$$t min per seed at ~$$r images/s$$note"; \
	  minutes=$$(( minutes + t * $(words $(SEEDS)) )); \
	done; \
	$(foreach m,$(NOTED_METHODS),echo "  $(m)$(if $(filter $(m),$(METHODS)),, (not in METHODS, run only by naming it)): $(NOTE_$(m))";) \
	echo "  estimate: ~$$minutes min of pretraining + ~$$(( n_runs * $(EVAL_MINUTES_PER_RUN) )) min of feature extraction and probes"; \
	echo "  (2 cores, quiet machine, tiny-sized packs; smaller budgets scale with images seen). Finished steps are skipped."; \
	echo "Commands (make -n):"; $(MAKE) -s -n reproduce-all | grep -E "patchbench (make-default|pretrain|eval|tables)" | sed 's/^/  /'

# --- the smoke regression CI runs -----------------------------------------------------------
# Smoke runs live in their own folder so they never mix with a reproduction's runs. Besides
# METHODS, one RandSAC ablation arm (raster order: the masks shared by the whole batch).
SMOKE_ARMS := randsac-patch-raster
SMOKE_METHODS = $(METHODS) $(filter-out $(METHODS),$(SMOKE_ARMS))
smoke-check: | build
	$(MAKE) --no-print-directory BUDGET=smoke SEEDS=0 RUNS_DIR=.smoke-runs EVAL_FLAGS="$(SMOKE_EVAL_FLAGS)" METHODS="$(SMOKE_METHODS)" $(foreach m,$(SMOKE_METHODS),$(foreach p,$(PROBES),.smoke-runs/smoke/$(m)/seed0/eval/$(p).json))
	$(PATCHBENCH) check --golden $(GOLDEN) --runs .smoke-runs
	rm -rf .smoke-results
	$(PATCHBENCH) tables --budget smoke --runs .smoke-runs --claims $(RESULTS_DIR)/claims.json --out .smoke-results --new-version

golden: | build
	$(MAKE) --no-print-directory BUDGET=smoke SEEDS=0 RUNS_DIR=.smoke-runs EVAL_FLAGS="$(SMOKE_EVAL_FLAGS)" METHODS="$(SMOKE_METHODS)" $(foreach m,$(SMOKE_METHODS),$(foreach p,$(PROBES),.smoke-runs/smoke/$(m)/seed0/eval/$(p).json))
	$(PATCHBENCH) check --golden $(GOLDEN) --runs .smoke-runs --write-golden

bench-anchor: build
	@for w in sup-tiny32 mae-tiny32 dino-tiny32 infer-tiny32 sup-small64; do \
	  $(PATCHBENCH) bench --workload $$w --threads $(THREADS); \
	  python3 ../shared/bench/anchor_vit.py --threads $(THREADS) --only $$w 2>/dev/null | grep "\"workload\": \"$$w\""; \
	done

clean:
	rm -rf .build .smoke-runs .smoke-results
