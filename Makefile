# Thin entry points; the real build is CMake + Ninja in build/.
#   make demo   set up, build, compile the default model for this machine and generate with it
#   make test   set up, build, run the whole test suite under ctest
#   make fuzz   set up, build the GGUF reader fuzzer in build-fuzz/ and run it FUZZ_SECONDS
#   make bench  set up, build, then hyc vs llama.cpp on the full-size synthetic model (bench/README.md)
BUILD ?= build
JOBS ?= $(shell nproc)
MODEL ?=
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
BENCH_JOBS ?= 1
PY := .venv/bin/python

.PHONY: setup configure build demo test fuzz bench clean

setup:
	@bash scripts/setup

$(BUILD)/build.ninja: | setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

configure: setup $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@bash scripts/demo $(BUILD) "$(MODEL)"

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

fuzz: setup
	@bash scripts/fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Not part of `make test`: builds llama.cpp's llama-bench into .venv/opt (BENCH_JOBS jobs,
# once per version) and takes ~30 minutes of measurements on 2 cores.
bench: build
	$(PY) bench/llama_cpp/compare.py --hyc $(BUILD)/bin/hyc --workdir $(BUILD)/bench --jobs $(BENCH_JOBS)

clean:
	rm -rf $(BUILD)
