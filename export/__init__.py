"""Export: convert a trained Keras BNN through the Larq Compute Engine to a verified,
per-target TFLite package. Installed as `keras_fda.export`.

    from keras_fda.export import export_model, inspect_path
    export_model("model.keras", "cortex-m", "out/", cpu="cortex-m4")
    print(inspect_path("out/model.tflite"))

The package format is documented in export/README.md.
"""


def export_model(*args, **kwargs):
    """See `keras_fda.export.pipeline.export_model`."""
    from keras_fda.export.pipeline import export_model as run

    return run(*args, **kwargs)


def inspect_path(path):
    """See `keras_fda.export.inspect.inspect_path`."""
    from keras_fda.export.inspect import inspect_path as run

    return run(path)


__all__ = ["export_model", "inspect_path"]
