"""kfda_runtime: run keras-fda models (TFLite flatbuffers from the Larq Compute Engine
converter) with the keras-fda C runtime, from Python, with numpy as the only
dependency. Built for Raspberry Pi class Arm Linux (arm64, armv7) and x86-64.

    from kfda_runtime import Interpreter      # instead of larq_compute_engine's
    interpreter = Interpreter("model.tflite")
    y = interpreter.predict(x)                # x: (N, ...) numpy array
"""

from kfda_runtime.interpreter import Interpreter, runtime_version

__all__ = ["Interpreter", "runtime_version"]
