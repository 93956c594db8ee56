# Thin wrapper so the two commands work from the repository root: `make bench` and `make test`.
# Everything real lives in CMakeLists.txt (build) and scripts/pyalloc (runs, reports).
BUILD ?= build
PY := /usr/bin/python3
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PRESET ?= default
# make bench: the `default` preset — rounds added until every time ratio is within ±3 % or its 8-minute budget
# is spent (bench/presets/default.preset); RUN_ARGS passes more to `pyalloc run`, e.g.
# make bench RUN_ARGS="--configs default,glibc-twin --budget 30m" for an A/A test of the timing.
RUN_ARGS ?=

.PHONY: all setup build bench test test-sanitize report clean

all: build

setup:
	@scripts/setup.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null

build: setup $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

bench: build
	PAB_BUILD=$(BUILD) $(PY) scripts/pyalloc run --preset $(PRESET) $(RUN_ARGS)
	PAB_BUILD=$(BUILD) $(PY) scripts/pyalloc report results/latest

test: build
	cd $(BUILD) && ctest --output-on-failure -j 2

test-sanitize: setup
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DPAB_SANITIZE=ON >/dev/null
	cmake --build $(BUILD)-asan -j $(JOBS)
	# c_test_alloc is left out: under ASan, libasan serves malloc, so allocator identity is the normal build's test
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -R '^c_' -E '^c_test_alloc$$'

clean:
	rm -rf $(BUILD) $(BUILD)-asan
