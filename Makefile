# Zenith — hand-written Makefile.
#
#   make              build/zenith-bench (CPU backend; CUDA too when nvcc is found)
#   make test         build and run the cmocka suites
#   make test-emu     the CUDA tests on the CPU: the CUDA backend emulated (build-emu/)
#   make sanitize     the same suites under AddressSanitizer + UBSan (build-san/)
#   make CUDA=0       force a CPU-only build
#   make V=1          show full command lines
#   make install      copy zenith-bench to $(PREFIX)/bin
#
# Outputs go to build/ (or $(BUILD)); dependency files (-MMD) make header edits rebuild what
# they touch.

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
OPT     ?= -O2
SAN     ?=

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wpointer-arith -Wvla
CFLAGS  ?=
CFLAGS  += -std=gnu11 $(OPT) -g $(WARN) -D_GNU_SOURCE -pthread -I. $(SAN)
LDFLAGS += -pthread $(SAN)
LDLIBS  += -lm

ifeq ($(V),1)
  Q :=
  say = @true
else
  Q := @
  say = @printf '  %-6s %s\n' $(1) $(2)
endif

# --- libraries from Debian (found with pkg-config; scripts/install-deps.sh installs them) -----
PKGS_LIB := libcjson libpng
PKGS_APP := ncursesw
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS_LIB) $(PKGS_APP) 2>/dev/null)
LIB_LIBS   := $(shell pkg-config --libs $(PKGS_LIB) 2>/dev/null)
APP_LIBS   := $(shell pkg-config --libs $(PKGS_APP) 2>/dev/null)
TEST_LIBS  := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)
CFLAGS += $(PKG_CFLAGS)

# --- backends ------------------------------------------------------------------------------
NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
ifeq ($(CUDA),0)
  NVCC :=
endif
CU_SRC := $(wildcard kernels/cuda/*.cu)
ifneq ($(NVCC),)
  CUDA_HOME  ?= $(patsubst %/bin/nvcc,%,$(NVCC))
  # NVTX3 headers (header-only) come with the toolkit; profiling/nvtx.c uses them when present
  CFLAGS     += -I$(CUDA_HOME)/include
endif
ifneq ($(and $(NVCC),$(CU_SRC)),)
  BACKENDS   := cpu cuda
  CFLAGS     += -DZN_WITH_CUDA=1
  # sm_90 machine code for H100/H200 and compute_90 PTX that newer GPUs JIT-compile; other GPUs:
  # make NVCC_ARCH='-gencode arch=compute_80,code=sm_80'
  NVCC_ARCH  ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
  NVCCFLAGS  ?= -O2 -std=c++17 -I. $(NVCC_ARCH) -Xcompiler -Wall,-Wextra $(NVCC_EXTRA)
  CUDA_LIBS  := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart -lcublasLt -lcublas -lcudnn -lcupti -lstdc++
else
  BACKENDS   := cpu
  CUDA_LIBS  :=
  CU_SRC     :=
endif

# --- the CUDA emulation (make test-emu): the CUDA backend compiled by g++ for the CPU ----------
# tests/cuda_emu/: kernels/cuda/*.cu rewritten by launch_transform.pl (nvcc's <<<>>> launches),
# compiled against cuda_emu.h and the toolkit's headers, linked with an emulated runtime, cuBLASLt
# and cuDNN instead of the libraries; no GPU, driver or nvcc needed, only the headers.
EMU_CUDA_INC ?= $(firstword $(wildcard $(CUDA_HOME)/include/cudnn.h /usr/local/cuda/include/cudnn.h))
ifeq ($(ZN_EMU),1)
  EMU_INC    := $(patsubst %/cudnn.h,%,$(EMU_CUDA_INC))
  CU_SRC     := $(wildcard kernels/cuda/*.cu)
  BACKENDS   := cpu cuda-emulated
  CFLAGS     := $(filter-out -DZN_WITH_CUDA=1,$(CFLAGS)) -DZN_WITH_CUDA=1 -DZN_CUDA_EMU=1 -I$(EMU_INC)
  CUDA_LIBS  := -lstdc++
  # kernels are host C++ here: CUDA-style type punning (no strict aliasing); g++'s
  # maybe-uninitialized analysis misfires on registers held across barriers
  EMU_CXXFLAGS := -std=c++17 $(OPT) -g -Wall -Wextra -Wno-unknown-pragmas -Wno-maybe-uninitialized \
                  -fno-strict-aliasing -pthread -D_GNU_SOURCE -I. -I$(EMU_INC) -DZN_WITH_CUDA=1 -DZN_CUDA_EMU=1 $(SAN)
  EMU_OBJ    := $(patsubst tests/cuda_emu/%.cpp,$(BUILD)/tests/cuda_emu/%.o,$(wildcard tests/cuda_emu/*.cpp))
endif

# --- sources --------------------------------------------------------------------------------
LIB_SRC := $(wildcard engine/*.c engine/passes/*.c kernels/*.c kernels/cpu/*.c \
                      profiling/*.c suites/*.c reports/*.c)
APP_SRC := $(wildcard app/*.c app/tui/*.c)
TEST_SRC := $(wildcard tests/test_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(CU_SRC:%.cu=$(BUILD)/%.cu.o) $(EMU_OBJ)
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
LIB      := $(BUILD)/libzenith.a
BIN      := $(BUILD)/zenith-bench
ALL_LIBS := $(LIB_LIBS) $(CUDA_LIBS) $(LDLIBS)

.PHONY: all test test-emu emu-run sanitize clean install backends fuzz bench bench-gpu
all: backends $(BIN)

backends:
	@echo "zenith: building backends: $(BACKENDS) into $(BUILD)/ ($(if $(NVCC),nvcc found at $(NVCC)$(if $(CU_SRC),, - no CUDA kernels in this tree yet),no nvcc: CPU only))"

$(LIB): $(LIB_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(APP_OBJ) $(LIB)
	$(call say,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(APP_OBJ) $(LIB) $(APP_LIBS) $(ALL_LIBS)

# build facts for run records
$(BUILD)/reports/system_info.o: CFLAGS += -DZN_GIT_COMMIT='"$(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"' \
                                         -DZN_BUILD_FLAGS='"$(OPT) $(SAN)"'

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

ifeq ($(ZN_EMU),1)
$(BUILD)/%.cu.o: %.cu tests/cuda_emu/launch_transform.pl
	@mkdir -p $(dir $@)
	$(call say,EMU,$<)
	$(Q)perl tests/cuda_emu/launch_transform.pl $< $(BUILD)/$*.emu.cpp
	$(Q)$(CXX) $(EMU_CXXFLAGS) -Ikernels/cuda -include tests/cuda_emu/cuda_emu.h -MMD -MP -MT $@ -MF $(BUILD)/$*.cu.d \
	  -c $(BUILD)/$*.emu.cpp -o $@

$(BUILD)/tests/cuda_emu/%.o: tests/cuda_emu/%.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX,$<)
	$(Q)$(CXX) $(EMU_CXXFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/emu_selftest: $(BUILD)/tests/cuda_emu/emu_selftest.cu.o $(LIB)
	$(call say,LINK,$@)
	$(Q)$(CXX) $(LDFLAGS) -o $@ $< $(LIB) $(ALL_LIBS)
else
$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(call say,NVCC,$<)
	$(Q)$(NVCC) $(NVCCFLAGS) -MMD -MP -c $< -o $@
endif

$(BUILD)/tests/%: tests/%.c $(LIB) tests/test_util.h tests/record_fixture.h
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(LIB) $(TEST_LIBS) $(ALL_LIBS) $(LDFLAGS)

# Runs every suite even when one fails, then reports the total; exit status 1 on any failure.
test: all $(TEST_BIN)
	@pass=0; fail=0; failed=""; \
	for t in $(TEST_BIN); do \
	  if ZN_TEST_BIN=$(abspath $(BIN)) $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); failed="$$failed $$(basename $$t)"; fi; \
	done; \
	echo ""; echo "test suites: $$pass passed, $$fail failed"; \
	if [ $$fail -ne 0 ]; then echo "failed:$$failed"; exit 1; fi

# make test-emu: the CUDA tests, and the suites whose plans take --backend auto, against the
# emulated backend (tests/cuda_emu/), built in build-emu/: every CUDA kernel and the engine's
# device paths (streams, graphs, copies) run on the CPU. Skipped, saying why, when the CUDA
# toolkit's headers (or g++, perl) are not there.
EMU_TESTS := test_cuda test_device_passes test_runtime test_profile test_nvtx
test-emu:
	@if [ -z "$(EMU_CUDA_INC)" ]; then \
	  echo "test-emu: skipped: no CUDA toolkit headers (cudnn.h, cublasLt.h, cuda_runtime.h) in CUDA_HOME or /usr/local/cuda"; \
	elif ! command -v $(CXX) >/dev/null || ! command -v perl >/dev/null; then \
	  echo "test-emu: skipped: it needs $(CXX) and perl (scripts/install-deps.sh installs g++)"; \
	else $(MAKE) --no-print-directory BUILD=build-emu$(if $(SAN),-san) ZN_EMU=1 emu-run; fi

emu-run: $(BUILD)/tests/emu_selftest $(EMU_TESTS:%=$(BUILD)/tests/%)
	@start=$$(date +%s); pass=0; fail=0; failed=""; \
	for t in $^; do \
	  if $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); failed="$$failed $$(basename $$t)"; fi; \
	done; \
	echo ""; echo "test-emu: $$pass passed, $$fail failed in $$(( $$(date +%s) - start ))s (CUDA backend emulated on the CPU)"; \
	if [ $$fail -ne 0 ]; then echo "failed:$$failed"; exit 1; fi

sanitize:
	$(MAKE) BUILD=build-san OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" CUDA=0 test

# libFuzzer target for the ONNX loader (clang). FUZZ_TIME seconds per run (default 60);
# new inputs accumulate in build-fuzz/corpus, seeded from the fixtures.
FUZZ_TIME ?= 60
FUZZ_SRC := tests/fuzz/fuzz_onnx.c engine/pb.c engine/tensor_io.c engine/onnx.c engine/graph.c \
            engine/validate.c engine/types.c engine/error.c engine/log.c engine/alloc.c
build-fuzz/fuzz_onnx: $(FUZZ_SRC)
	@mkdir -p build-fuzz/corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=gnu11 \
	  -D_GNU_SOURCE -pthread -I. $(FUZZ_SRC) -lm -o $@
fuzz: build-fuzz/fuzz_onnx
	build-fuzz/fuzz_onnx -max_total_time=$(FUZZ_TIME) -max_len=262144 -timeout=10 -rss_limit_mb=2048 \
	  -malloc_limit_mb=512 build-fuzz/corpus tests/fixtures/onnx tests/fixtures/onnx_bad

# make bench: Zenith against ONNX Runtime and PyTorch (same ONNX weights, same threads) and
# sgemm against OpenBLAS; prints a table and writes $(BUILD)/bench.json. BENCH_QUICK=1 for a
# smoke run. Peers go into a venv that sees Debian's torch (scripts/bench-setup.sh).
BENCH_VENV ?= $(BUILD)/bench-venv
$(BUILD)/gemm_bench: bench/gemm_bench.c $(LIB)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -DZN_WITH_OPENBLAS -o $@ $< $(LIB) -lopenblas $(ALL_LIBS) $(LDFLAGS)

bench: all
	scripts/install-deps.sh --bench
	$(MAKE) $(BUILD)/gemm_bench
	scripts/bench-setup.sh $(BENCH_VENV)
	$(BENCH_VENV)/bin/python scripts/bench.py --zenith $(BIN) --gemm $(BUILD)/gemm_bench \
	  --out $(BUILD)/bench.json --work $(BUILD)/bench --shared-auto
	@if $(GPU_PYTHON) scripts/bench_gpu.py --zenith $(BIN) --detect; then $(MAKE) bench-gpu; fi

# make bench-gpu: Zenith's CUDA backend against PyTorch (eager fp16, torch.compile) on this
# machine's GPU: bert-base and resnet50 at batch 1 and large, attention vs SDPA, GEMM vs cuBLAS;
# prints a table and writes $(BUILD)/bench-gpu.json (scripts/bench_gpu.py). Without a GPU it says
# why and does nothing. GPU_PYTHON: a python with torch (CUDA), numpy and onnx; nothing is fetched.
GPU_PYTHON ?= python3
$(BUILD)/gpu_kernel_bench: bench/gpu_kernel_bench.c $(LIB)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIB) $(ALL_LIBS) $(LDFLAGS)

bench-gpu: all $(BUILD)/gpu_kernel_bench
	$(GPU_PYTHON) scripts/bench_gpu.py --zenith $(BIN) --kernel-bench $(BUILD)/gpu_kernel_bench \
	  --out $(BUILD)/bench-gpu.json --work $(BUILD)/bench-gpu

install: $(BIN)
	install -D -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/zenith-bench

clean:
	rm -rf build build-san build-fuzz build-emu build-emu-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
