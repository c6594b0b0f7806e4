"""Export: convert a trained Keras BNN through the Larq Compute Engine to a verified,
per-target TFLite package. Installed as `keras_fda.export`."""
