/*
 * op_list.h - the ops of the runtime, one row each:
 *
 *   KFDA_OP(IDENT, symbol, "TFLite name", builtin code)
 *
 * IDENT names the build switch -DKFDA_OP_<IDENT>; symbol names the op file's
 * registration, kfda_op_<symbol> (src/ops/<symbol>.c); custom ops have builtin
 * code 32 (CUSTOM) and their TFLite name is their custom code. Adding an op:
 * one file in src/ops/ and one row here.
 *
 * By default every op is linked. A build that defines KFDA_OPS_SELECTED links
 * only the ops it also names as -DKFDA_OP_<IDENT> (the export writes them for a
 * package, see firmware/README.md); the others are still known by name, so a
 * model that uses one is refused with "unsupported op: NAME (op N)".
 */
KFDA_OP(LCE_QUANTIZE, lce_quantize, "LceQuantize", 32)
KFDA_OP(LCE_DEQUANTIZE, lce_dequantize, "LceDequantize", 32)
KFDA_OP(LCE_BCONV2D, lce_bconv2d, "LceBconv2d", 32)
KFDA_OP(LCE_BMAXPOOL2D, lce_bmaxpool2d, "LceBMaxPool2d", 32)
KFDA_OP(CONV_2D, conv_2d, "CONV_2D", 3)
KFDA_OP(DEPTHWISE_CONV_2D, depthwise_conv_2d, "DEPTHWISE_CONV_2D", 4)
KFDA_OP(FULLY_CONNECTED, fully_connected, "FULLY_CONNECTED", 9)
KFDA_OP(MAX_POOL_2D, max_pool_2d, "MAX_POOL_2D", 17)
KFDA_OP(AVERAGE_POOL_2D, average_pool_2d, "AVERAGE_POOL_2D", 1)
KFDA_OP(MEAN, mean, "MEAN", 40)
KFDA_OP(ADD, add, "ADD", 0)
KFDA_OP(MUL, mul, "MUL", 18)
KFDA_OP(RESHAPE, reshape, "RESHAPE", 22)
KFDA_OP(PAD, pad, "PAD", 34)
KFDA_OP(CONCATENATION, concatenation, "CONCATENATION", 2)
KFDA_OP(SOFTMAX, softmax, "SOFTMAX", 25)
KFDA_OP(QUANTIZE, quantize, "QUANTIZE", 114)
KFDA_OP(DEQUANTIZE, dequantize, "DEQUANTIZE", 6)
