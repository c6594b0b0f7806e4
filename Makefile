# Top-level conveniences. The firmware has its own Makefile (firmware/Makefile).
#   make bench     print the benchmark tables (benchmarks/README.md); needs the venv
#                  (scripts/bootstrap.sh), arm-none-eabi-gcc, qemu-system-arm, and for
#                  arm64 aarch64-linux-gnu-gcc + qemu-aarch64-static
PYTHON ?= $(if $(KERAS_FDA_VENV),$(KERAS_FDA_VENV)/bin/python,.venv/bin/python)
BENCH_ARGS ?=

.PHONY: bench
bench:
	$(PYTHON) benchmarks/bench.py $(BENCH_ARGS)
