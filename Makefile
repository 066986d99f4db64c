# medpipe: `make demo` and `make test` are the whole set-up (see README).
BUILD_DIR ?= build
FUZZ_TARGETS = fuzz_dicom fuzz_nifti fuzz_volume fuzz_npy fuzz_raster fuzz_labels_csv fuzz_event fuzz_set \
  fuzz_rtstruct fuzz_multipart fuzz_s3_listing fuzz_qido
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -G Ninja -DCMAKE_BUILD_TYPE=Release

.PHONY: all deps build test test-unit test-integration test-sanitize fuzz demo bench format clean

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 900

test-unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

test-integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration

# The unit tests that need no LibTorch, built with ASan + UBSan in build-sanitize/.
test-sanitize: deps
	cmake -S . -B build-sanitize $(CMAKE_FLAGS) -DMEDPIPE_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-sanitize -j$(JOBS) --target medpipe_unit_tests $(FUZZ_TARGETS)
	cd build-sanitize && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/fuzz/lsan.supp ./tests/medpipe_unit_tests
	cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -L fuzz

# libFuzzer on every reader of untrusted bytes (fuzz/run.sh; clang, build-fuzz/):
#   make fuzz FUZZ_SECONDS=1800 FUZZ_RUNS=1000000 FUZZ_HARNESSES="dicom npy"
fuzz: deps
	bash fuzz/run.sh

demo: build
	bash scripts/demo.sh $(BUILD_DIR)

bench: build
	bash bench/run.sh $(BUILD_DIR)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR) build-sanitize build-fuzz demo
