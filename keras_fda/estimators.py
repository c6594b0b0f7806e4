"""Estimators by name, for comparisons and command lines.

A spec is an estimator name, optionally with `+noise` for FDA's noise adaptation:

| spec | quantizer |
|---|---|
| `ste_sign` | Larq's straight-through estimator (BNN), gradient 1 on abs(x) <= 1 |
| `approx_sign` | Bi-Real's piecewise polynomial (`keras_fda.quantizers.ApproxSign`) |
| `swish_sign` | BNN+'s SwishSign (Larq) |
| `ede` | IR-Net's error decay estimator |
| `fda` | FDA's Fourier-series gradient |
| `X+noise` | X with the noise adaptation branch (`NoiseAdapted(X)` for Larq's ones) |
"""
import larq

from keras_fda import quantizers
from keras_fda.errors import KerasFDAError

OURS = {"fda": quantizers.FDA, "ede": quantizers.EDE, "approx_sign": quantizers.ApproxSign}
LARQ = ("ste_sign", "swish_sign")
NAMES = tuple(OURS) + LARQ


def parse(spec):
    """Split `name[+noise]` into (name, noise); raise KerasFDAError for an unknown one."""
    name, _, extra = spec.strip().partition("+")
    if name not in NAMES or extra not in ("", "noise"):
        raise KerasFDAError(
            f"unknown estimator {spec!r}: choose one of {', '.join(NAMES)}, "
            "optionally with +noise (e.g. fda+noise)"
        )
    return name, extra == "noise"


def quantizer_factory(spec, **options):
    """A function returning a fresh quantizer for `spec` (one per layer and role).

    `options` go to keras_fda's quantizer classes (e.g. `noise_eta="linear"`,
    `n_terms=9`); Larq's own quantizers take none unless wrapped with `+noise`.
    """
    name, noise = parse(spec)
    if name in OURS:
        return lambda: OURS[name](noise_adaptation=noise, **options)
    if noise:
        return lambda: quantizers.NoiseAdapted(name, **options)
    if options:
        raise KerasFDAError(f"{name} takes no options ({', '.join(options)}) without +noise")
    return lambda: larq.quantizers.get(name)
