# Which ops a build of the runtime links (the rows of src/ops/op_list.h), shared by
# firmware/Makefile, targets/cortex-m/cortex-m.mk and targets/linux/Makefile.
#   OPS="LceBconv2d ADD ..."   only these ops (TFLite names); a model that uses another
#                              is refused at load: "unsupported op: NAME (op N)"
#   OPS=all                    every op (the default)
# A build of a package (MODEL=dir) without OPS links the ops of the package's
# manifest.json ("ops"), so --gc-sections drops every other op and its kernels.
# Set MANIFEST_OPS_FROM to the manifest to read before including this file.
ifeq ($(origin OPS),undefined)
  ifneq ($(MANIFEST_OPS_FROM),)
    OPS := $(shell sed -n '/"ops": *{/,/}/s/^ *"\([A-Za-z0-9_]*\)": *[0-9].*/\1/p' \
             $(MANIFEST_OPS_FROM) 2>/dev/null)
  endif
endif
OPS_DEFINES := $(if $(filter-out all,$(strip $(OPS))),-DKFDA_OPS_SELECTED $(addprefix -DKFDA_OP_,$(OPS)))
