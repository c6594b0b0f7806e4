"""Estimators by name, for comparisons and command lines.

A spec is an estimator name, optionally with `+noise` for FDA's noise adaptation:

| spec | quantizer |
|---|---|
| `ste_sign` | Larq's straight-through estimator (BNN), gradient 1 on abs(x) <= 1 |
| `approx_sign` | Bi-Real's piecewise polynomial (`keras_fda.quantizers.ApproxSign`) |
| `swish_sign` | BNN+'s SwishSign (Larq) |
| `ede` | IR-Net's error decay estimator |
| `fda` | FDA's Fourier-series gradient |
| `reste` | ReSTE's rectified power function (Wu et al., ICCV 2023) |
| `X+noise` | X with the noise adaptation branch (`NoiseAdapted(X)` for Larq's ones) |

Ablations (the paper's) are options after a colon, comma-separated:

* `fda+noise:eta=linear` (or `eta=none`, default `sin`): the noise module's fixed part;
* `fda:n=9`: FDA with n fixed at 9 instead of the 9 -> 18 schedule.
"""

from keras_fda import quantizers
from keras_fda.errors import KerasFDAError

import larq

OURS = {
    "fda": quantizers.FDA,
    "ede": quantizers.EDE,
    "approx_sign": quantizers.ApproxSign,
    "reste": quantizers.ReSTE,
}
LARQ = ("ste_sign", "swish_sign")
NAMES = tuple(OURS) + LARQ


def parse(spec):
    """Split `name[+noise][:key=value,...]` into (name, noise, options).

    Options are returned as quantizer keyword arguments (`noise_eta`, `n_terms`), plus
    `fixed_n=True` when FDA's n is pinned. Raise KerasFDAError for anything unknown.
    """
    head, _, tail = spec.strip().partition(":")
    name, _, extra = head.partition("+")
    if name not in NAMES or extra not in ("", "noise"):
        raise KerasFDAError(
            f"unknown estimator {spec!r}: choose one of {', '.join(NAMES)}, "
            "optionally with +noise (e.g. fda+noise) and :options (e.g. fda+noise:eta=linear, fda:n=9)"
        )
    noise = extra == "noise"
    options = {}
    for item in filter(None, tail.split(",")):
        key, _, value = item.partition("=")
        if key == "eta" and noise and value in ("sin", "linear", "none"):
            options["noise_eta"] = value
        elif key == "n" and name == "fda" and value.isdigit():
            options["n_terms"] = int(value)
            options["fixed_n"] = True
        else:
            raise KerasFDAError(
                f"estimator option {item!r} in {spec!r} is not one of: eta=sin|linear|none "
                "(with +noise), n=INTEGER (fda only)"
            )
    return name, noise, options


def uses_fixed_n(spec):
    """Whether `spec` pins FDA's n (then the n schedule must not run)."""
    return parse(spec)[2].get("fixed_n", False)


def quantizer_factory(spec, **options):
    """A function returning a fresh quantizer for `spec` (one per layer and role).

    `options` go to keras_fda's quantizer classes (e.g. `noise_eta="linear"`,
    `n_terms=9`) on top of those in the spec; Larq's own quantizers take none unless
    wrapped with `+noise`.
    """
    name, noise, spec_options = parse(spec)
    spec_options.pop("fixed_n", None)
    options = {**spec_options, **options}
    if name in OURS:
        return lambda: OURS[name](noise_adaptation=noise, **options)
    if noise:
        return lambda: quantizers.NoiseAdapted(name, **options)
    if options:
        raise KerasFDAError(f"{name} takes no options ({', '.join(options)}) without +noise")
    return lambda: larq.quantizers.get(name)
