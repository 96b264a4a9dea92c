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
# BUILD_CPU: the CPU the Swift code is compiled for (`swiftc -target-cpu`). portable, the default:
# baseline x86-64, one binary for every machine and cluster node. native: this machine's widest
# vectors (Scripts/native-cpu: skylake-avx512 with AVX-512, haswell with AVX2 and FMA); or a name
# (BUILD_CPU=haswell for a cluster whose nodes all have AVX2). Every output is bit-identical
# whichever is chosen: Swift contracts no FMA, reduction orders are fixed, and the float32 GEMM is C
# that picks its path at run time (`make cpu-check` compares the whole smoke regression). Only the
# Swift element-wise kernels (GELU, softmax, LayerNorm, the optimizer) get wider vectors;
# Documentation/gemm.md, "Target CPU", has the speed-ups. Each CPU builds in .build-<cpu>/.
BUILD_CPU ?= portable
TARGET_CPU := $(if $(filter native,$(BUILD_CPU)),$(shell Scripts/native-cpu),$(filter-out portable,$(BUILD_CPU)))
BUILD_DIR := .build$(if $(TARGET_CPU),-$(TARGET_CPU))
SWIFT_BUILD := swift build -c $(SWIFT_CONFIG) --scratch-path $(BUILD_DIR) $(if $(TARGET_CPU),-Xswiftc -target-cpu -Xswiftc $(TARGET_CPU))
PATCHBENCH := $(BUILD_DIR)/$(SWIFT_CONFIG)/patchbench
THREADS ?= 2

# The method table (Sources/Harness/Methods.swift) is the one list of methods: `patchbench
# methods --make` writes its default METHODS (TABLE_METHODS), measured rates (RATE_<name>) and the
# speed files' names (SPEED_FILE_<name>) to $(METHODS_MK), which is included here. It is rewritten after every build, only when its text
# changes (make then restarts once); goals that need no method do not build for it.
METHODS_MK := $(BUILD_DIR)/methods.mk
ifneq ($(filter-out help setup slurm-setup build unit-test clean,$(or $(MAKECMDGOALS),help)),)
include $(METHODS_MK)
endif

# Reproduction settings.
BUDGET ?= tiny
SEEDS ?= 0 1 2
# Implemented methods (the table's); random-init and random-init-<variant> are the untrained floors, one per encoder variant and readout.
METHODS ?= $(TABLE_METHODS)
PROBES ?= linear knn seg det patch-knn finetune
RUNS_DIR ?= runs
RESULTS_DIR ?= results
# The committed records of the project's own runs (Scripts/archive-runs.sh): what the results
# versions are built from, kept where a fresh machine's missing runs/ cannot take them.
RECORDS_DIR ?= $(RESULTS_DIR)/records
CLAIMS ?= $(RESULTS_DIR)/claims.json
DATA ?= datasets/default
CLS_PACK ?= $(DATA)/fashion-mnist.h5
SEG_PACK ?= $(DATA)/fmnist-scenes-ade.h5
DET_PACK ?= $(DATA)/fmnist-scenes-coco.h5
DEFAULT_PACKS := datasets/default/fashion-mnist.h5 datasets/default/fmnist-scenes-ade.h5 datasets/default/fmnist-scenes-coco.h5
GOLDEN ?= $(RESULTS_DIR)/goldens/smoke.json
# Extra flags for every `patchbench eval` (the smoke regression limits the images).
EVAL_FLAGS ?=
SMOKE_EVAL_FLAGS := --train-limit 6000 --test-limit 2000
# Extra flags for the dense evals only (seg, det, patch-knn), after EVAL_FLAGS (the last limit
# wins): the smoke fits them on the first 1,000 of the 4,000 train scenes, scores 250 of the 1,000.
DENSE_EVAL_FLAGS ?=
SMOKE_DENSE_EVAL_FLAGS := --train-limit 1000 --test-limit 250
# Extra flags for the raw-pixel row's linear probe only, last: the smoke fits it on the first 1,000
# images (1,024 grey pixels, preconditioned: 41 s at 2 threads on Zen 4; Documentation/evaluation.md).
RAW_LINEAR_EVAL_FLAGS ?=
SMOKE_RAW_LINEAR_EVAL_FLAGS := --train-limit 1000
# 1 keeps each run's dense feature caches (~2 GB a run at tiny); by default the eval that writes a
# run's last probe removes them (Scripts/prune-grid-cache.sh) and keeps the small pooled ones.
KEEP_GRID_CACHE ?= 0
# Extra flags for `patchbench eval finetune` only: its labelled subset and epochs (the smoke budget
# shrinks them so the smoke regression's fine-tuning takes seconds; Documentation/evaluation.md).
SMOKE_FINETUNE_FLAGS := --finetune-subset 500 --finetune-epochs 2
FINETUNE_FLAGS ?= $(if $(filter smoke,$(BUDGET)),$(SMOKE_FINETUNE_FLAGS))
# `patchbench speed`'s alternating rounds per pair; its MAE decoders for LoMaR (the verdicts read
# the budget's: Documentation/Objectives/LoMaR.md, "Speed claims"; the papers' 512-d 8-block one
# adds ~5 min and ~13 GiB of peak memory at tiny: `SPEED_DECODERS=budget,paper`).
SPEED_ROUNDS ?= 10
SPEED_DECODERS ?= budget

.PHONY: help setup build test unit-test smoke-check cpu-check archive-runs reproduce-all reproduce-ablations plan plan-ablations status data tables bench-anchor golden clean fuzz FORCE
.PHONY: slurm-setup slurm-test slurm-submit

help:
	@echo "PatchBench"
	@echo "  make reproduce-all  convert data, pretrain every method and seed, evaluate, time the speed claims' pairs, write results/<budget>/v<N>/"
	@echo "  make -j 2 reproduce-all THREADS=1    the faster way on 2 cores: two 1-thread runs at once (1.21x one 2-thread run)"
	@echo "  make reproduce-all BUILD_CPU=native  Swift for this CPU's widest vectors: DINO-style steps ~1.13x faster with AVX-512, none seen with AVX2 (Zen 3); bit-identical (make cpu-check)"
	@echo "  make reproduce-all SCHEDULER=slurm   the same as Slurm job arrays; resubmit to resume (Documentation/slurm.md)"
	@echo "  make status         what is done, running, failed or to do"
	@echo "  make archive-runs   copy the completed runs' records (run.json, log, eval/, speed) into RECORDS_DIR=$(RECORDS_DIR); tables --runs $(RECORDS_DIR) builds results from them"
	@echo "  make test           unit tests + the smoke-budget regression against $(GOLDEN) + the Slurm smoke test (what CI runs)"
	@echo "  make cpu-check BUILD_CPU=native  the smoke regression built portable and for this CPU: every output must be equal"
	@echo "  make plan           what reproduce-all would run, with a time estimate and what is still to do (NODES=n for a cluster; make -n shows the commands)"
	@echo "  make reproduce-ablations  RandSAC's serialization arms and LoMaR's fix arms, ABLATION_SEEDS='$(ABLATION_SEEDS)' (plan-ablations estimates it)"
	@echo "  make data           build the embedded default packs in datasets/default/"
	@echo "  make setup          install the Debian packages PatchBench needs (idempotent)"
	@echo "  make bench-anchor   patchbench bench next to the PyTorch anchor (needs torch)"
	@echo "  make fuzz           libFuzzer on file parsers (FUZZ_SECONDS, FUZZ_TARGETS)"
	@echo "Variables: BUDGET=$(BUDGET) SEEDS='$(SEEDS)' METHODS='$(METHODS)' PROBES='$(PROBES)'"
	@echo "           DATA=$(DATA) (or CLS_PACK/SEG_PACK/DET_PACK) THREADS=$(THREADS) RUNS_DIR=$(RUNS_DIR)"
	@echo "           KEEP_GRID_CACHE=$(KEEP_GRID_CACHE) (1: keep each run's ~2 GB of dense feature caches after its last probe)"
	@echo "           SPEED_ROUNDS=$(SPEED_ROUNDS) SPEED_DECODERS=$(SPEED_DECODERS) (patchbench speed, after the evaluations: runs/speed/<budget>[-densecl].json)"
	@echo "           BUILD_CPU=$(BUILD_CPU) (portable, native = $(or $(shell Scripts/native-cpu),portable) here, or a swiftc -target-cpu name)"
	@echo "  Slurm:   SLURM_PARTITION SLURM_ACCOUNT SBATCH_FLAGS SLURM_TIME_FACTOR=$(SLURM_TIME_FACTOR) SLURM_EVAL_MINUTES=$(SLURM_EVAL_MINUTES)"
	@echo "           SLURM_MEM_PRETRAIN=$(SLURM_MEM_PRETRAIN) SLURM_MEM_EVAL=$(SLURM_MEM_EVAL) SLURM_MEM_TABLES=$(SLURM_MEM_TABLES) (MiB) SLURM_WAIT=$(SLURM_WAIT)"

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
	$(SWIFT_BUILD) --product patchbench

$(METHODS_MK): FORCE | build
	@$(PATCHBENCH) methods --make > $@.tmp && { cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@; }

# Numeric tests run optimised: debug builds are 16-550x slower (../shared/docs/swift-stack.md).
unit-test: setup
	$(SWIFT_BUILD) --build-tests
	swift test -c $(SWIFT_CONFIG) --scratch-path $(BUILD_DIR) --skip-build

test: unit-test smoke-check slurm-test

archive-runs:
	Scripts/archive-runs.sh $(RUNS_DIR) $(RECORDS_DIR) $(BUDGET)

# --- data -----------------------------------------------------------------------------------
data: $(DEFAULT_PACKS)

$(DEFAULT_PACKS) &: | build
	$(PATCHBENCH) make-default --out datasets/default

# --- pretraining and evaluation, one file target per run and probe ---------------------------
# A single-seed reference row (raw pixels: nothing in it depends on the seed but the linear
# probe's validation split) runs at the first of SEEDS only.
seeds_of = $(if $(filter $(1),$(SINGLE_SEED_METHODS)),$(firstword $(SEEDS)),$(SEEDS))
pack_for = $(if $(filter seg patch-knn,$(1)),$(SEG_PACK),$(if $(filter det,$(1)),$(DET_PACK),$(CLS_PACK)))
run_dir = $(RUNS_DIR)/$(BUDGET)/$(1)/seed$(2)

# The commands, one definition each: the local rules below and the Slurm tasks run these.
pretrain_command = $(PATCHBENCH) pretrain --method $(1) --budget $(BUDGET) --seed $(2) --data $(CLS_PACK) \
  --out $(call run_dir,$(1),$(2)) --threads $(THREADS) --progress lines
eval_command = $(PATCHBENCH) eval $(3) --checkpoint $(call run_dir,$(1),$(2))/encoder.h5 --data $(call pack_for,$(3)) \
  --out $(call run_dir,$(1),$(2))/eval/$(3).json --threads $(THREADS) --cache-dir $(call run_dir,$(1),$(2))/features $(EVAL_FLAGS) \
  $(if $(filter seg det patch-knn,$(3)),$(DENSE_EVAL_FLAGS)) $(if $(filter finetune,$(3)),$(FINETUNE_FLAGS)) \
  $(if $(and $(filter raw-pixels,$(1)),$(filter linear,$(3))),$(RAW_LINEAR_EVAL_FLAGS)) \
  $(if $(filter 1,$(KEEP_GRID_CACHE)),,&& Scripts/prune-grid-cache.sh $(call run_dir,$(1),$(2)) $(PROBES))
# The speed claims that `patchbench speed` measures at their resolution (LoMaR's at grids 24 and 28,
# DenseCL's "< 1 % slower"), for each pair whose two methods are in METHODS. Local runs measure
# after every evaluation (nothing else runs beside them), one pair after the other; on Slurm the
# tables job measures first. A file that exists is not measured again.
SPEED_DIR = $(RUNS_DIR)/speed
speed_pairs = $(if $(and $(filter lomar,$(METHODS)),$(filter mae,$(METHODS))),lomar) \
  $(if $(and $(filter densecl,$(METHODS)),$(filter mocov2,$(METHODS))),densecl)
speed_file = $(SPEED_DIR)/$(SPEED_FILE_$(1))
SPEED_FILES = $(foreach p,$(speed_pairs),$(call speed_file,$(p)))
speed_command = $(PATCHBENCH) speed --pair $(1) --budget $(BUDGET) --threads $(THREADS) --rounds $(SPEED_ROUNDS) \
  $(if $(filter lomar,$(1)),--decoders $(SPEED_DECODERS)) --out $(call speed_file,$(1))
# Tables go into the budget's latest results version, results/<budget>/v<N>/ (v1 is created the
# first time); a new version is made explicitly with `patchbench tables --new-version`. Results are
# versioned per budget, so a run of one budget never rewrites another budget's results.
tables_command = $(PATCHBENCH) tables --budget $(BUDGET) --runs $(RUNS_DIR) --claims $(CLAIMS) --out $(RESULTS_DIR) \
  $$(ls -d $(RESULTS_DIR)/$(BUDGET)/v[0-9]* >/dev/null 2>&1 || echo --new-version)

define RUN_RULES
$(call run_dir,$(1),$(2))/encoder.h5: | $(CLS_PACK) build
	$(call pretrain_command,$(1),$(2))
endef

define EVAL_RULES
$(call run_dir,$(1),$(2))/eval/$(3).json: $(call run_dir,$(1),$(2))/encoder.h5 | $(call pack_for,$(3)) build
	$(call eval_command,$(1),$(2),$(3))
endef

$(foreach m,$(METHODS),$(foreach s,$(call seeds_of,$(m)),$(eval $(call RUN_RULES,$(m),$(s)))))
$(foreach m,$(METHODS),$(foreach s,$(call seeds_of,$(m)),$(foreach p,$(PROBES),$(eval $(call EVAL_RULES,$(m),$(s),$(p))))))

# Seed-major: make works through seed 0 of every method (its pretraining, then its probes) before
# any seed 1, so a reproduction stopped part-way has a first look at every method, and every run
# it finished is complete; a rerun resumes where it stopped.
EVALS := $(foreach s,$(SEEDS),$(foreach m,$(METHODS),$(if $(filter $(s),$(call seeds_of,$(m))),\
  $(foreach p,$(PROBES),$(call run_dir,$(m),$(s))/eval/$(p).json))))

# The speed files' names come from $(METHODS_MK): before its first generation (make then restarts)
# they are empty, and the two rules would name one target.
ifneq ($(SPEED_FILE_lomar),)
$(call speed_file,lomar): | $(EVALS) build
	$(call speed_command,lomar)
$(call speed_file,densecl): | $(EVALS) $(filter $(call speed_file,lomar),$(SPEED_FILES)) build
	$(call speed_command,densecl)
endif

tables: $(EVALS) $(SPEED_FILES) | build
	$(tables_command)

# SCHEDULER=local (default): make runs the work itself, `make -j` in parallel. SCHEDULER=slurm:
# the same work is submitted as Slurm job arrays (Documentation/slurm.md) and make returns.
SCHEDULER ?= local
ifeq ($(SCHEDULER),slurm)
reproduce-all: slurm-submit
else ifeq ($(SCHEDULER),local)
reproduce-all: tables
else
$(error SCHEDULER=$(SCHEDULER): use local or slurm)
endif

# --- Slurm: the same work as job arrays (Documentation/slurm.md) -------------------------------
# Partition, account and any other sbatch flags ("--qos=long --constraint=avx512"); --time and
# --mem per task come from the method table's rates and the peak memory measured at tiny.
SLURM_PARTITION ?=
SLURM_ACCOUNT ?=
SBATCH_FLAGS ?=
SLURM_TIME_FACTOR ?= 3
SLURM_EVAL_MINUTES ?= 30
SLURM_MEM_PRETRAIN ?= 3072
SLURM_MEM_EVAL ?= 3072
# The tables job first runs the missing `patchbench speed` measurements (~3 GiB at tiny).
SLURM_MEM_TABLES ?= 4096
SLURM_DIR = $(RUNS_DIR)/.slurm/$(BUDGET)
SLURM_WAIT ?= 0
budget_images = $$(grep -o '"images_seen": *[0-9]*' configs/budgets/$(BUDGET).json | grep -o '[0-9]*$$')

define newline


endef
# One line per unit of work for Scripts/slurm/submit.sh: KIND NAME RUN_DIR OUTPUT RATE COMMAND.
slurm_plan = $(foreach m,$(METHODS),$(foreach s,$(call seeds_of,$(m)),\
  pretrain $(m)/seed$(s) $(call run_dir,$(m),$(s)) $(call run_dir,$(m),$(s))/encoder.h5 $(or $(RATE_$(m)),0) \
  $(call pretrain_command,$(m),$(s))$(newline)$(foreach p,$(PROBES),\
  eval $(m)/seed$(s)/$(p) $(call run_dir,$(m),$(s)) $(call run_dir,$(m),$(s))/eval/$(p).json - \
  $(call eval_command,$(m),$(s),$(p))$(newline))))tables $(BUDGET) - - - \
  $(foreach p,$(speed_pairs),{ [ -s $(call speed_file,$(p)) ] || $(call speed_command,$(p)); } &&) $(tables_command)

slurm-submit: | $(sort $(CLS_PACK) $(foreach p,$(PROBES),$(call pack_for,$(p)))) build
	$(shell mkdir -p $(SLURM_DIR))$(file >$(SLURM_DIR)/plan.txt,$(slurm_plan))
	SLURM_DIR=$(SLURM_DIR) BUDGET=$(BUDGET) IMAGES=$(budget_images) THREADS=$(THREADS) \
	  SLURM_PARTITION="$(SLURM_PARTITION)" SLURM_ACCOUNT="$(SLURM_ACCOUNT)" SBATCH_FLAGS="$(SBATCH_FLAGS)" \
	  SLURM_TIME_FACTOR=$(SLURM_TIME_FACTOR) SLURM_EVAL_MINUTES=$(SLURM_EVAL_MINUTES) \
	  SLURM_MEM_PRETRAIN=$(SLURM_MEM_PRETRAIN) SLURM_MEM_EVAL=$(SLURM_MEM_EVAL) SLURM_MEM_TABLES=$(SLURM_MEM_TABLES) \
	  SLURM_WAIT=$(SLURM_WAIT) \
	  Scripts/slurm/submit.sh $(SLURM_DIR)/plan.txt

# What is done, running, failed or to do (files first; Slurm's job states where it knows them).
status:
	@RUNS_DIR=$(RUNS_DIR) BUDGET=$(BUDGET) METHODS="$(METHODS)" SEEDS="$(SEEDS)" PROBES="$(PROBES)" SINGLE_SEED_METHODS="$(SINGLE_SEED_METHODS)" \
	  SLURM_DIR=$(SLURM_DIR) Scripts/slurm/status.sh

# RandSAC's serialization study (Tables 1-6 of the paper) and LoMaR before each fix to its relative
# position (lomar-scaled-q, lomar-irpe-buckets): the table's ablation arms, ABLATION_SEEDS seeds
# each, into the same runs/ and results version as reproduce-all. `make plan-ablations` estimates it.
ABLATION_SEEDS ?= 0 1
reproduce-ablations: | build $(METHODS_MK)
	$(MAKE) --no-print-directory reproduce-all METHODS="$(ABLATION_METHODS)" SEEDS="$(ABLATION_SEEDS)"

plan-ablations: | build $(METHODS_MK)
	@$(MAKE) --no-print-directory plan METHODS="$(ABLATION_METHODS)" SEEDS="$(ABLATION_SEEDS)"

# Pretraining rates come from the method table (RATE_<name>, images/s at tiny on 2 cores, Zen 5);
# a method without a measured rate is estimated at the slowest measured one.
EVAL_MINUTES_PER_RUN := 10
# Cluster size for the wall-time estimate: NODES machines of NODE_CORES cores, one task per 2
# cores (the rates' setting). NODES=1 NODE_CORES=2 is the reference 2-core machine.
NODES ?= 1
NODE_CORES ?= 2

plan:
	@. Scripts/slurm/run-progress.sh; n_runs=$(words $(foreach m,$(METHODS),$(call seeds_of,$(m)))); \
	images=$$(grep -o '"images_seen": *[0-9]*' configs/budgets/$(BUDGET).json | grep -o '[0-9]*$$'); \
	echo "budget $(BUDGET): $$n_runs pretraining runs ($(METHODS) x seeds $(SEEDS)), $$images images seen each"; \
	echo "  $$(( n_runs * $(words $(PROBES)) )) evaluations ($(PROBES)), then the tables in $(RESULTS_DIR)/"; \
	slowest=0; for r in $(foreach m,$(TABLE_METHODS),$(RATE_$(m))); do \
	  if [ $$r -gt 0 ] && { [ $$slowest = 0 ] || [ $$r -lt $$slowest ]; }; then slowest=$$r; fi; done; \
	minutes=0; runs=""; left=""; left_pre=0; left_eval=0; left_runs=0; left_evals=0; for pair in $(foreach m,$(METHODS),$(m)=$(or $(RATE_$(m)),0)); do \
	  m=$${pair%%=*}; r=$${pair#*=}; t=0; \
	  case " $(UNTRAINED_METHODS) " in *" $$m "*) ;; *) \
	    if [ $$r = 0 ]; then r=$$slowest; note=" (not measured: the slowest method's rate)"; else note=""; fi; \
	    t=$$(( images / r / 60 + 1 )); echo "  $$m: ~$$t min per seed at ~$$r images/s$$note";; esac; \
	  seeds="$(SEEDS)"; case " $(SINGLE_SEED_METHODS) " in *" $$m "*) seeds="$(firstword $(SEEDS))";; esac; \
	  minutes=$$(( minutes + t * $$(echo $$seeds | wc -w) )); \
	  for s in $$seeds; do runs="$$runs$$m/seed$$s $$t $(EVAL_MINUTES_PER_RUN)\n"; \
	    d=$(RUNS_DIR)/$(BUDGET)/$$m/seed$$s; rt=0; \
	    if [ ! -f $$d/encoder.h5 ]; then \
	      left_runs=$$(( left_runs + 1 )); last=$$(last_checkpoint $$d); steps=$$(total_steps $$d); \
	      if [ -n "$$last" ] && [ -n "$$steps" ]; then rt=$$(( t * (steps - last) / steps )); else rt=$$t; fi; fi; \
	    missing=0; for p in $(PROBES); do [ -s $$d/eval/$$p.json ] || missing=$$(( missing + 1 )); done; \
	    re=$$(( $(EVAL_MINUTES_PER_RUN) * missing / $(words $(PROBES)) )); \
	    left_pre=$$(( left_pre + rt )); left_eval=$$(( left_eval + re )); left_evals=$$(( left_evals + missing )); \
	    left="$$left$$m/seed$$s $$rt $$re\n"; done; \
	done; \
	$(foreach m,$(NOTED_METHODS),echo "  $(m)$(if $(filter $(m),$(METHODS)),, (not in METHODS, run only by naming it)): $(NOTE_$(m))";) \
	echo "  estimate: ~$$minutes min of pretraining + ~$$(( n_runs * $(EVAL_MINUTES_PER_RUN) )) min of feature extraction and probes"; \
	echo "  (2 cores, quiet machine, tiny-sized packs; smaller budgets scale with images seen). Finished steps are skipped."; \
	slots=$$(( $(NODES) * $(NODE_CORES) / 2 )); [ $$slots -ge 1 ] || slots=1; \
	wall=$$(printf "$$runs" | awk -v slots=$$slots -v probes=$(words $(PROBES)) -f Scripts/slurm/makespan.awk); \
	echo "  wall time on $(NODES) node(s) of $(NODE_CORES) cores ($$slots tasks at a time, 2 threads each):" \
	  "~$$(( wall / 60 )) h $$(( wall % 60 )) min (SCHEDULER=slurm, longest runs first; NODES=, NODE_CORES=)"; \
	wall=$$(printf "$$left" | awk -v slots=$$slots -v probes=$(words $(PROBES)) -f Scripts/slurm/makespan.awk); \
	echo "  still to do in $(RUNS_DIR)/$(BUDGET): $$left_runs of $$n_runs pretraining runs and $$left_evals of" \
	  "$$(( n_runs * $(words $(PROBES)) )) evaluations, ~$$left_pre min of pretraining (from the last checkpoints)" \
	  "+ ~$$left_eval min of probes: ~$$(( wall / 60 )) h $$(( wall % 60 )) min on the same slots"; \
	echo "Commands (make -n):"; $(MAKE) -s -n reproduce-all | grep -E "patchbench (make-default|pretrain|eval|speed|tables)" | sed 's/^/  /'

# --- the smoke regression CI runs -----------------------------------------------------------
# Smoke runs live in their own folder so they never mix with a reproduction's runs. Besides
# METHODS, one RandSAC ablation arm (raster order: the masks shared by the whole batch).
# randsac-patch-raster-raw-mse (T1's target) is left out: its smoke pretraining and six probes
# cost ~60 s (pretrain 5 s, probes 47 s, 2 threads on a shared machine), over the 30 s an arm may
# add to `make test`, which is close to its 20 min.
SMOKE_ARMS := randsac-patch-raster
SMOKE_METHODS = $(METHODS) $(filter-out $(METHODS),$(SMOKE_ARMS))
# A non-portable build's smoke runs and results live apart from the portable build's.
SMOKE_RUNS := .smoke-runs$(if $(TARGET_CPU),-$(TARGET_CPU))
SMOKE_RESULTS := .smoke-results$(if $(TARGET_CPU),-$(TARGET_CPU))
# Two 1-thread commands at a time: the smoke's ~150 short commands (process start, pack and cache
# reads, small products) then overlap instead of leaving a core idle. No number depends on the
# thread count; the golden records threads 1 and compares bitwise.
SMOKE_SETTINGS = BUDGET=smoke SEEDS=0 THREADS=1 RUNS_DIR=$(SMOKE_RUNS) METHODS="$(SMOKE_METHODS)" EVAL_FLAGS="$(SMOKE_EVAL_FLAGS)" \
  DENSE_EVAL_FLAGS="$(SMOKE_DENSE_EVAL_FLAGS)" RAW_LINEAR_EVAL_FLAGS="$(SMOKE_RAW_LINEAR_EVAL_FLAGS)"
SMOKE_JOBS := -j 2 --output-sync=target
SMOKE_EVALS = $(foreach m,$(SMOKE_METHODS),$(foreach p,$(PROBES),$(SMOKE_RUNS)/smoke/$(m)/seed0/eval/$(p).json))
smoke-check: | build
	$(MAKE) --no-print-directory $(SMOKE_JOBS) $(SMOKE_SETTINGS) $(SMOKE_EVALS)
	$(PATCHBENCH) check --golden $(GOLDEN) --runs $(SMOKE_RUNS)
	@# Every smoke run has all its probes: its dense feature caches are gone, its pooled ones kept.
	@left=$$(ls $(SMOKE_RUNS)/smoke/*/seed0/features/*-grid*.h5 2>/dev/null); \
	  [ -z "$$left" ] || { echo "smoke-check: dense feature caches left after the last probe:"; echo "$$left"; exit 1; }; \
	  ls $(SMOKE_RUNS)/smoke/mae/seed0/features/*.h5 >/dev/null || { echo "smoke-check: mae's pooled feature cache is gone"; exit 1; }
	@# The reproduction itself, as a user's quick try runs it (on a copy of results/, so that a
	@# developer's own results/smoke is left alone): results/smoke/v1 appears, results/tiny stays.
	rm -rf $(SMOKE_RESULTS) && cp -r $(RESULTS_DIR) $(SMOKE_RESULTS) && rm -rf $(SMOKE_RESULTS)/smoke
	$(MAKE) --no-print-directory reproduce-all $(SMOKE_SETTINGS) RESULTS_DIR=$(SMOKE_RESULTS)
	diff -r $(RESULTS_DIR)/tiny $(SMOKE_RESULTS)/tiny
	test -f $(SMOKE_RESULTS)/smoke/v1/README.md
	@# The runs' records alone make the same results; the committed records still make tables.
	Scripts/archive-runs.sh $(SMOKE_RUNS) $(SMOKE_RESULTS)/records smoke
	rm -rf $(SMOKE_RESULTS)/from-records
	$(PATCHBENCH) tables --budget smoke --runs $(SMOKE_RESULTS)/records --claims $(CLAIMS) --out $(SMOKE_RESULTS)/from-records --new-version
	cmp $(SMOKE_RESULTS)/smoke/v1/results.json $(SMOKE_RESULTS)/from-records/smoke/v1/results.json
	@for b in $$(ls $(RECORDS_DIR) 2>/dev/null); do [ "$$b" = speed ] || \
	  $(PATCHBENCH) tables --budget $$b --runs $(RECORDS_DIR) --claims $(CLAIMS) --out $(SMOKE_RESULTS)/from-records --new-version >/dev/null \
	  || { echo "smoke-check: $(RECORDS_DIR)/$$b does not make tables"; exit 1; }; done
	@echo "smoke-check: make reproduce-all BUDGET=smoke wrote $(SMOKE_RESULTS)/smoke/v1 and left results/tiny byte-identical"

# A CPU's build against the portable one (BUILD_CPU=native, or a name): the smoke regression of
# both, afresh; then every evaluation file of the CPU's build must equal the portable build's in all
# but wall time and threads (encoder_digest, a SHA-256 of the weights, included), and every
# pretraining log its losses step by step. Not part of `make test`: it builds twice (~35 min).
cpu-check:
	@[ -n "$(TARGET_CPU)" ] || { echo "cpu-check: BUILD_CPU=$(BUILD_CPU) builds the portable binary; name another (BUILD_CPU=native, BUILD_CPU=haswell)"; exit 2; }
	rm -rf .smoke-runs $(SMOKE_RUNS)
	$(MAKE) --no-print-directory smoke-check BUILD_CPU=portable
	$(MAKE) --no-print-directory smoke-check BUILD_CPU=$(TARGET_CPU)
	Scripts/compare-runs.sh .smoke-runs $(SMOKE_RUNS)

# The smoke reproduction through a private single-node Slurm, compared with smoke-check's outputs
# (Scripts/slurm/test.sh). slurm-setup installs Slurm and munge like `setup` (with sudo when not
# root); a failed install fails the test. Only without root and without sudo is it skipped.
SLURM_APT_PACKAGES := slurmctld slurmd slurm-client munge
slurm-setup:
	@missing=""; for p in $(SLURM_APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "slurm-setup: Slurm and munge present"; exit 0; fi; \
	SUDO=""; if [ "$$(id -u)" != 0 ]; then \
	  if command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "slurm-setup: not root and no sudo: cannot install$$missing"; exit 0; fi; \
	fi; \
	echo "slurm-setup: installing$$missing"; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing

# A subset keeps `make test` under 20 minutes: the untrained floor, a stateless method and one
# with state and checkpoints long enough to be killed mid-run (DINO), on two probes.
SLURM_TEST_METHODS := random-init mae dino
SLURM_TEST_PROBES := linear knn
slurm-test: slurm-setup smoke-check
	@if ! command -v sbatch >/dev/null && [ "$$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then \
	  echo "SKIP slurm-test: Slurm is not installed and this user can neither be root nor use sudo to install it"; \
	else \
	  MAKE="$(MAKE)" METHODS="$(SLURM_TEST_METHODS)" PROBES="$(SLURM_TEST_PROBES)" SMOKE_EVAL_FLAGS="$(SMOKE_EVAL_FLAGS)" \
	    PATCHBENCH="$(PATCHBENCH)" SMOKE_RUNS="$(SMOKE_RUNS)" Scripts/slurm/test.sh; \
	fi

golden: | build
	$(MAKE) --no-print-directory $(SMOKE_JOBS) $(SMOKE_SETTINGS) $(SMOKE_EVALS)
	$(PATCHBENCH) check --golden $(GOLDEN) --runs $(SMOKE_RUNS) --write-golden

bench-anchor: build
	@for w in sup-tiny32 mae-tiny32 dino-tiny32 infer-tiny32 sup-small64; do \
	  $(PATCHBENCH) bench --workload $$w --threads $(THREADS); \
	  python3 ../shared/bench/anchor_vit.py --threads $(THREADS) --only $$w 2>/dev/null | grep "\"workload\": \"$$w\""; \
	done

clean:
	rm -rf .build .build-haswell .build-skylake-avx512 .smoke-runs* .smoke-results* .slurm-test

# Fuzzing (Documentation/fuzzing.md): each parser of untrusted files for FUZZ_SECONDS under
# libFuzzer, built in .build-fuzz/; crash inputs in .build-fuzz/crashes/<target>/.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= idx cifar-binary pickle tar gzip coco-json png jpeg budget-json claims-json
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" Fuzz/run.sh
