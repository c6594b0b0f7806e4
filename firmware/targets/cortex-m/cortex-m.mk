# Build rules shared by every Cortex-M board Makefile (firmware/boards/<board>/Makefile).
#
# The board Makefile sets, then includes this file (BOARD, CPU_FLAGS, CORE_HZ, QEMU_MACHINE
# and the memory map are export/platforms.py's; tests/test_platforms.py checks them):
#   BOARD          name of the memory map in targets/cortex-m/memory/<BOARD>.ld
#   CPU_FLAGS      -mcpu/-mfpu/-mfloat-abi for the core
#   CORE_HZ        SysTick clock in Hz (the core clock)
#   QEMU_MACHINE   qemu-system-arm -M value (emulated boards only)
#   BOARD_SOURCES  extra C files (a real board's clock/UART set-up and I/O)
#   IO             semihosting (emulated boards: newlib rdimon) or retarget (BOARD_SOURCES)
# The user sets:
#   MODEL=dir      a keras-fda package: model_data.c (or model.tflite) and manifest.json
#   FROM_TFLITE=1  link model.tflite itself even when the package has model_data.c
#   SELFTEST=1     instead of MODEL: the plain-C self-test, for bringing a board up
#   KERNEL_TEST=1  instead of MODEL: host/kernel_test.c (optimized kernels vs reference,
#                  bit for bit, quick product); `make run KERNEL_TEST=1` prints "ok"
#   OPS="A B"|all  the ops linked (default: the package manifest's, see targets/ops.mk)
#   ARENA=bytes    the static arena (default: manifest's arena_bytes, else the plan that the
#                  native build of the runtime prints for the model, else ARENA_DEFAULT)
#   BUILD=dir      where objects and the image go (default: ./build)
#   OPT=-O2        optimisation flags
#   INPUT=file     for `make run`: raw input records (see targets/app/main.c)

FIRMWARE := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
TARGETS := $(FIRMWARE)/targets
BUILD ?= $(CURDIR)/build
# Relative MODEL/INPUT/BUILD paths are the caller's: `make -C firmware/boards/x MODEL=out/`
# means ./out/ of the shell that ran make (make -C leaves $PWD as it was).
CALLER_DIR := $(if $(PWD),$(PWD),$(CURDIR))
resolve = $(abspath $(if $(filter /%,$(1)),$(1),$(CALLER_DIR)/$(1)))
override BUILD := $(call resolve,$(BUILD))
ifneq ($(INPUT),)
  override INPUT := $(call resolve,$(INPUT))
endif
OPT ?= -O2
IO ?= semihosting
ARENA_DEFAULT ?= 262144
CROSS ?= arm-none-eabi-
CC := $(CROSS)gcc
OBJCOPY := $(CROSS)objcopy
SIZE := $(CROSS)size

ifeq ($(KERNEL_TEST),1)
  APP_MODEL :=
  MODEL_DATA :=
  RUNTIME_SOURCES := $(shell find $(FIRMWARE)/src -name '*.c' -o -name '*.S' 2>/dev/null | sort)
  ARENA ?= 16
  APP_DEFINES += -DKFDA_KT_EMBEDDED -DKFDA_KT_QUICK=$(if $(KT_FULL),0,1)
else ifeq ($(SELFTEST),1)
  APP_MODEL := $(TARGETS)/app/model_selftest.c
  MODEL_DATA := $(BUILD)/model_data.c
  RUNTIME_SOURCES :=
  ARENA ?= 16
else
  ifeq ($(MODEL),)
    $(error MODEL=<package dir> is required (a folder with model_data.c or model.tflite), or SELFTEST=1)
  endif
  MODEL_DIR := $(call resolve,$(MODEL))
  APP_MODEL := $(TARGETS)/app/model_kfda.c
  RUNTIME_SOURCES := $(shell find $(FIRMWARE)/src -name '*.c' -o -name '*.S' 2>/dev/null | sort)
  # FROM_TFLITE=1: ignore the package's model_data.c, generate it from model.tflite.
  ifeq ($(if $(filter 1,$(FROM_TFLITE)),,$(wildcard $(MODEL_DIR)/model_data.c)),)
    MODEL_DATA := $(BUILD)/model_data.c
  else
    MODEL_DATA := $(MODEL_DIR)/model_data.c
  endif
  MANIFEST_ARENA := $(shell sed -n 's/.*"arena_bytes": *\([0-9][0-9]*\).*/\1/p' $(MODEL_DIR)/manifest.json 2>/dev/null | head -n 1)
  ifeq ($(origin ARENA),undefined)
    ifneq ($(MANIFEST_ARENA),)
      ARENA := $(MANIFEST_ARENA)
    else
      # Ask the runtime: build the native application and print the model's memory plan.
      PLANNED_ARENA := $(shell $(MAKE) -s -C $(TARGETS)/linux TARGET=native BUILD=$(BUILD)/host \
        >/dev/null 2>&1 && $(BUILD)/host/kfda_app --plan $(MODEL_DIR)/model.tflite 2>/dev/null \
        | sed -n 's/^kfda: arena_bytes \([0-9][0-9]*\) .*/\1/p')
      ARENA := $(if $(PLANNED_ARENA),$(PLANNED_ARENA),$(ARENA_DEFAULT))
    endif
  endif
endif

MANIFEST_OPS_FROM := $(if $(MODEL_DIR),$(MODEL_DIR)/manifest.json)
include $(TARGETS)/ops.mk

COUNTER_SOURCE ?= $(TARGETS)/cortex-m/counter.c
APP_MAIN := $(if $(filter 1,$(KERNEL_TEST)),$(FIRMWARE)/host/kernel_test.c,$(TARGETS)/app/main.c)
SOURCES := $(APP_MAIN) $(APP_MODEL) $(TARGETS)/cortex-m/startup.c \
           $(COUNTER_SOURCE) $(RUNTIME_SOURCES) $(BOARD_SOURCES) $(MODEL_DATA)
# newlib with its semihosting layer; a small board picks newlib-nano
# (--specs=nano.specs --specs=rdimon.specs: kilobytes less static RAM, no %llu)
SEMIHOSTING_SPECS ?= --specs=rdimon.specs
ifeq ($(IO),semihosting)
  SOURCES += $(TARGETS)/cortex-m/semihost.c
  SPECS := $(SEMIHOSTING_SPECS)
else
  # A real board: newlib-nano, the board's _write, inputs linked in (INPUT=raw records).
  SPECS := --specs=nano.specs --specs=nosys.specs
  SOURCES += $(BUILD)/input_data.c
  APP_DEFINES += -DKFDA_LINKED_INPUTS
endif

CFLAGS := $(CPU_FLAGS) -mthumb -std=c99 $(OPT) -g -ffp-contract=off -ffunction-sections \
          -fdata-sections -Wall -Wextra -I$(FIRMWARE)/include -I$(TARGETS)/app \
          -DKFDA_CORE_HZ=$(CORE_HZ) -DKFDA_ARENA_BYTES=$(ARENA) $(OPS_DEFINES) $(APP_DEFINES) \
          $(EXTRA_CFLAGS)
LDFLAGS := $(CPU_FLAGS) -mthumb $(SPECS) -nostartfiles -Wl,--gc-sections \
           -L$(BUILD) -T$(TARGETS)/cortex-m/cortex-m.ld -Wl,-Map=$(BUILD)/kfda_app.map

OBJECTS := $(foreach s,$(SOURCES),$(BUILD)/obj/$(subst /,_,$(patsubst $(FIRMWARE)/%,%,$(patsubst $(BUILD)/%,%,$(s)))).o)
ELF := $(BUILD)/kfda_app.elf

.PHONY: all run clean size
all: $(ELF) $(BUILD)/kfda_app.bin $(BUILD)/sizes.txt

# Flags are part of the build: a change of ARENA, OPT or MODEL rebuilds.
$(BUILD)/flags.txt: FORCE
	@mkdir -p $(BUILD)/obj
	@echo '$(CC) $(CFLAGS) $(LDFLAGS) $(MODEL_DATA) $(INPUT)' | cmp -s - $@ || echo '$(CC) $(CFLAGS) $(LDFLAGS) $(MODEL_DATA) $(INPUT)' > $@
FORCE:

$(BUILD)/board_memory.ld: $(TARGETS)/cortex-m/memory/$(BOARD).ld
	@mkdir -p $(BUILD)
	cp $< $@

# The model as a C array, when the package has no model_data.c (od is in coreutils).
$(BUILD)/model_data.c: $(if $(filter 1,$(SELFTEST)),,$(MODEL_DIR)/model.tflite)
	@mkdir -p $(BUILD)
	@{ echo '/* Generated from $(notdir $<) by cortex-m.mk. */'; \
	   echo '__attribute__((aligned(16))) const unsigned char kfda_model_data[] = {'; \
	   $(if $(filter 1,$(SELFTEST)),printf 'KFST',cat $<) | od -An -v -tx1 | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	   echo '};'; \
	   echo 'const unsigned int kfda_model_size = sizeof kfda_model_data;'; } > $@

# The input records of a real board, linked in (none: one inference on zeros).
$(BUILD)/input_data.c: $(INPUT) $(BUILD)/flags.txt
	@mkdir -p $(BUILD)
	@{ echo '/* Generated from $(if $(INPUT),$(notdir $(INPUT)),no input) by cortex-m.mk. */'; \
	   echo '__attribute__((aligned(16))) const unsigned char kfda_input_data[] = {'; \
	   $(if $(INPUT),cat $(INPUT),printf 'Z') | od -An -v -tx1 | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	   echo '};'; \
	   echo 'const unsigned int kfda_input_size = $(if $(INPUT),sizeof kfda_input_data,0);'; } > $@

define compile_rule
$(BUILD)/obj/$(subst /,_,$(patsubst $(FIRMWARE)/%,%,$(patsubst $(BUILD)/%,%,$(1)))).o: $(1) $(BUILD)/flags.txt
	@mkdir -p $(BUILD)/obj
	$(CC) $(CFLAGS) -MMD -MP -c $(1) -o $$@
endef
$(foreach s,$(SOURCES),$(eval $(call compile_rule,$(s))))

$(ELF): $(OBJECTS) $(BUILD)/board_memory.ld $(TARGETS)/cortex-m/cortex-m.ld
	$(CC) $(LDFLAGS) $(OBJECTS) -lm -o $@

$(BUILD)/kfda_app.bin: $(ELF)
	$(OBJCOPY) -O binary $< $@

# flash_bytes: what the image occupies in flash; ram_bytes: static RAM (.data, .bss
# with the arena, the minimum heap), not counting the stack.
$(BUILD)/sizes.txt: $(ELF)
	@$(SIZE) -A $< | awk '/^\.(vectors|text|ARM|init_array|data) /{f+=$$2} /^\.(data|bss|heap) /{r+=$$2} \
	  END{print "flash_bytes " f; print "ram_bytes " r; print "arena_bytes $(ARENA)"}' > $@
	@cat $@

size: $(BUILD)/sizes.txt

QEMU_FLAGS := -M $(QEMU_MACHINE) -nographic -monitor none -serial none \
              -semihosting-config enable=on,target=native -icount shift=0
run: $(ELF)
	@test -n "$(QEMU_MACHINE)" || { echo "$(BOARD) is a real board: flash $(BUILD)/kfda_app.bin"; exit 1; }
	@test -n "$(INPUT)$(KERNEL_TEST)" || { echo "INPUT=<raw input records> is required"; exit 1; }
	mkdir -p $(BUILD)/run $(if $(INPUT),&& cp $(INPUT) $(BUILD)/run/input.bin)
	cd $(BUILD)/run && qemu-system-arm $(QEMU_FLAGS) -kernel $(ELF)

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/obj/*.d)
