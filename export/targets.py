"""The ops the export accepts. The targets themselves (`--target`) are in `platforms.py`;
`get_target` is re-exported for the pipeline's import."""
from keras_fda.export.platforms import get_target  # noqa: F401

# The ops the keras-fda C runtime implements (firmware/src/kernels/, one op per file);
# the export refuses a model holding any other, naming the layer.
SUPPORTED_OPS = frozenset({
    "LceQuantize", "LceDequantize", "LceBconv2d", "LceBMaxPool2d",
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED",
    "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN",
    "ADD", "MUL", "RESHAPE", "PAD", "CONCATENATION", "SOFTMAX",
    "QUANTIZE", "DEQUANTIZE",
})
