/*
 * op_list.h - the ops of the runtime, one row each:
 *
 *   KFDA_OP(NAME, symbol, builtin code)
 *
 * NAME is the op's TFLite name (custom ops: their custom code, builtin code 32)
 * and its build switch -DKFDA_OP_<NAME>; symbol names the op file's registration,
 * kfda_op_<symbol> in src/ops/<symbol>.c. Adding an op: one file in src/ops/ and
 * one row here.
 *
 * By default every op is linked. A build that defines KFDA_OPS_SELECTED links
 * only the ops it also names as -DKFDA_OP_<NAME> (board builds of a package take
 * them from its manifest, see firmware/README.md); the others are still known by
 * name, so a model that uses one is refused with "unsupported op: NAME (op N)".
 */
KFDA_OP(LceQuantize, lce_quantize, 32)
KFDA_OP(LceDequantize, lce_dequantize, 32)
KFDA_OP(LceBconv2d, lce_bconv2d, 32)
KFDA_OP(LceBMaxPool2d, lce_bmaxpool2d, 32)
KFDA_OP(CONV_2D, conv_2d, 3)
KFDA_OP(DEPTHWISE_CONV_2D, depthwise_conv_2d, 4)
KFDA_OP(FULLY_CONNECTED, fully_connected, 9)
KFDA_OP(MAX_POOL_2D, max_pool_2d, 17)
KFDA_OP(AVERAGE_POOL_2D, average_pool_2d, 1)
KFDA_OP(MEAN, mean, 40)
KFDA_OP(ADD, add, 0)
KFDA_OP(MUL, mul, 18)
KFDA_OP(RESHAPE, reshape, 22)
KFDA_OP(PAD, pad, 34)
KFDA_OP(CONCATENATION, concatenation, 2)
KFDA_OP(SOFTMAX, softmax, 25)
KFDA_OP(QUANTIZE, quantize, 114)
KFDA_OP(DEQUANTIZE, dequantize, 6)
KFDA_OP(PRELU, prelu, 54)
KFDA_OP(LOGISTIC, logistic, 14)
KFDA_OP(TANH, tanh, 28)
KFDA_OP(HARD_SWISH, hard_swish, 117)
KFDA_OP(RELU, relu, 19)
KFDA_OP(RELU6, relu6, 21)
KFDA_OP(RELU_N1_TO_1, relu_n1_to_1, 20)
KFDA_OP(ABS, abs, 101)
KFDA_OP(ROUND, round, 116)
KFDA_OP(MINIMUM, minimum, 57)
KFDA_OP(MAXIMUM, maximum, 55)
KFDA_OP(SUB, sub, 41)
KFDA_OP(SPLIT, split, 49)
KFDA_OP(TRANSPOSE, transpose, 39)
KFDA_OP(STRIDED_SLICE, strided_slice, 45)
KFDA_OP(SQUEEZE, squeeze, 43)
