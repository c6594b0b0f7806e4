"""The `keras-fda` command line: one click group, thin subcommands.

Each subcommand parses its arguments, calls one function of `keras_fda` or
`keras_fda.export`, and turns `KerasFDAError` into one line on stderr and exit code 1.
TensorFlow is imported inside the commands, so `keras-fda --help` stays fast.
"""

from keras_fda.errors import KerasFDAError
from keras_fda.export import platforms
from keras_fda.study import PRECISIONS, RECIPE_CHOICES

import functools
import os
import signal
import sys
import threading
import traceback

import click

ESTIMATOR_HELP = (
    "comma-separated estimators: ste_sign, approx_sign, ede, reste, fda, and any of them with "
    "'+noise' for FDA's noise adaptation (e.g. fda+noise)"
)


def fail(message):
    """Print one line to stderr and exit non-zero."""
    click.echo(f"keras-fda: error: {message}", err=True)
    sys.exit(1)


def interrupted_exit():
    click.echo("keras-fda: interrupted", err=True)
    sys.exit(130)


def _interrupt_behind(error):
    """Whether `error` is a Ctrl-C in disguise: a KeyboardInterrupt in its chain (one that
    cut TensorFlow's stack-trace context makes its __exit__ assert 'Concurrent access?'),
    or one noted during the export (export.package.sigint_noted) that a library swallowed
    and turned into its own error."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    package = sys.modules.get("keras_fda.export.package")
    return bool(package is not None and package.interrupted())


def _late_interrupt(signum, frame):
    """Ctrl-C once the command is over (TensorFlow's and h5py's exit handlers): one line
    and 130, not a traceback from whatever Python was tearing down."""
    try:
        sys.stdout.flush()
        sys.stderr.write("keras-fda: interrupted\n")
        sys.stderr.flush()
    finally:
        os._exit(130)


def _console_script():
    """Running as the keras-fda command (not inside another program, like the tests)."""
    return os.path.basename(sys.argv[0]) in ("keras-fda", "cli.py")


def one_line_errors(command):
    """Turn the project's errors into one line; an unexpected one too, unless debugging.
    Ctrl-C, however it surfaces, is one line and exit status 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        package = sys.modules.get("keras_fda.export.package")
        if package is not None:
            package.forget_interrupt()
        try:
            return command(*args, **kwargs)
        except KerasFDAError as error:
            if _interrupt_behind(error):
                interrupted_exit()
            fail(str(error))
        except KeyboardInterrupt:
            interrupted_exit()
        except Exception as error:  # a bug of ours: say so briefly, trace on demand
            if _interrupt_behind(error):
                interrupted_exit()
            if os.environ.get("KERAS_FDA_DEBUG"):
                traceback.print_exc()
            fail(
                f"internal error ({type(error).__name__}: {error}); "
                "rerun with KERAS_FDA_DEBUG=1 for the traceback and report it"
            )
        finally:
            if _console_script() and threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, _late_interrupt)

    return wrapper


class OneLineGroup(click.Group):
    """click's usage errors (an unknown option, a folder given as a file...) in one line,
    like the commands' own errors, instead of click's three (usage, hint, error)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as error:
            ctx = getattr(error, "ctx", None)
            # the subcommand's path under the console script's name (tests call it "main")
            path = " ".join(["keras-fda"] + ctx.command_path.split(" ")[1:]) if ctx else ""
            hint = f" (see '{path} --help')" if ctx is not None else ""
            click.echo(f"keras-fda: error: {error.format_message()}{hint}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:  # Ctrl-C in a prompt
            interrupted_exit()
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="keras-fda")
def main():
    """Train binary neural networks with FDA/EDE/ApproxSign and deploy them to Arm."""
    import tensorflow as tf

    # Larq's QuantizedVariable trips an AutoGraph notice on every model build; it is
    # harmless and would bury the command's own output.
    tf.get_logger().setLevel("ERROR")


@main.command()
@click.option(
    "--output",
    "-o",
    default="estimators.png",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="PNG file to write.",
)
@click.option(
    "--n-terms",
    default="1,5,9,17",
    show_default=True,
    help="FDA's n values to draw, comma-separated.",
)
@one_line_errors
def plot(output, n_terms):
    """Plot each estimator's forward (sign) and backward curves on [-1.5, 1.5]."""
    try:
        n_values = [int(v) for v in n_terms.split(",") if v.strip()]
    except ValueError:
        raise KerasFDAError(f"--n-terms must be integers separated by commas, got {n_terms!r}")
    from keras_fda.plotting import plot_estimators

    path = plot_estimators(output, n_values)
    click.echo(f"wrote {path}")


@main.command()
@click.option(
    "--estimators",
    default="ste_sign,approx_sign,ede,fda,fda+noise",
    show_default=True,
    help=ESTIMATOR_HELP,
)
@click.option("--epochs", default=3, show_default=True, type=click.IntRange(1))
@click.option(
    "--train-subset",
    default=10000,
    show_default=True,
    type=click.IntRange(0),
    help="training images to use (0: all 60,000)",
)
@click.option(
    "--data-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Fashion-MNIST idx files (default: the Debian dataset-fashion-mnist path)",
)
@click.option(
    "--output",
    "-o",
    default="runs/demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="where the study (resumable), models and packages go",
)
@click.option(
    "--deploy-images",
    default=200,
    show_default=True,
    type=click.IntRange(0),
    help="test images to run on the emulated targets (0: skip the deployment)",
)
@click.option(
    "--model",
    "architecture",
    default="stm32f4_bnn",
    show_default=True,
    help="architecture (keras_fda.models): stm32f4_bnn fits an STM32F405's 128 KiB in int8 "
    "with room to spare; small_bnn is the README study's model",
)
@one_line_errors
def demo(estimators, epochs, train_subset, data_dir, output, deploy_images, architecture):
    """The main job: train a BNN on Fashion-MNIST with each estimator, print a table, deploy
    the best (float to arm64 and a Cortex-M4, int8 to an STM32F405)."""
    from keras_fda.demo import run_demo
    from keras_fda.models import ARCHITECTURES

    if architecture not in ARCHITECTURES:
        raise KerasFDAError(
            f"unknown --model {architecture!r}; choose one of {', '.join(ARCHITECTURES)}"
        )
    run_demo(
        model=architecture,
        estimators=[e.strip() for e in estimators.split(",") if e.strip()],
        epochs=epochs,
        train_subset=train_subset,
        data_dir=data_dir,
        output=output,
        deploy_images=deploy_images,
    )


@main.command()
@click.option(
    "--dataset",
    type=click.Choice(["fashion-mnist", "cifar10"]),
    default="fashion-mnist",
    show_default=True,
)
@click.option(
    "--data-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="the data's folder (CIFAR-10: cifar-10-batches-py; required)",
)
@click.option(
    "--model",
    default=None,
    help="small_bnn, stm32f4_bnn, microbit_bnn, resnet20 or vgg_small "
    "(default: small_bnn for fashion-mnist, resnet20 for cifar10)",
)
@click.option(
    "--estimators",
    default="ste_sign,approx_sign,ede,fda,fda+noise",
    show_default=True,
    help=ESTIMATOR_HELP + "; ablations: fda+noise:eta=linear, "
    "fda+noise:eta=none, fda:n=9 (n fixed), ede+noise, approx_sign+noise",
)
@click.option("--seeds", default=3, show_default=True, type=click.IntRange(1))
@click.option("--epochs", default=30, show_default=True, type=click.IntRange(1))
@click.option(
    "--train-subset",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="training images to use (0: all)",
)
@click.option(
    "--test-subset",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="test images to use (0: all)",
)
@click.option(
    "--learning-rate", default=0.0, type=float, help="override the recipe's initial learning rate"
)
@click.option(
    "--precision",
    default="float32",
    show_default=True,
    type=click.Choice(PRECISIONS),
    help="mixed_bfloat16: bf16 convolutions with float32 weights, ~2x faster on "
    "CPUs with AVX512-BF16/AMX and on GPUs",
)
@click.option(
    "--recipe",
    default="default",
    show_default=True,
    type=click.Choice(RECIPE_CHOICES),
    help="paper-sgd: the FDA paper's SGD lr 0.1, momentum 0.9, cosine, weight decay "
    "1e-4 (default: Adam lr 1e-2 cosine on fashion-mnist, paper-sgd with crop + flip "
    "on cifar10)",
)
@click.option(
    "--noise-weight-decay",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="decoupled weight decay of the noise branches' W1, W2 only (w -= lr * d * w each step)",
)
@click.option(
    "--alpha-zero-at",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.0, 1.0, min_open=True),
    help="fraction of training at which the noise alpha reaches 0 and stays 0 "
    "(1: the paper, at the last epoch)",
)
@click.option(
    "--output",
    "-o",
    default="report",
    show_default=True,
    type=click.Path(file_okay=False),
    help="the study's folder (resumable)",
)
@click.option("--quiet", is_flag=True, help="no per-epoch Keras progress lines")
@click.option(
    "--save-models",
    is_flag=True,
    help="keep each cell's trained model as OUTPUT/models/ESTIMATOR__seedN.keras (float32 "
    "weights), e.g. to export it",
)
@one_line_errors
def compare(
    dataset,
    data_dir,
    model,
    estimators,
    seeds,
    epochs,
    train_subset,
    test_subset,
    learning_rate,
    precision,
    recipe,
    noise_weight_decay,
    alpha_zero_at,
    output,
    quiet,
    save_models,
):
    """Compare estimators over seeds: results.csv, results.md, accuracy and gradient plots."""
    from keras_fda.study import DATASET_DEFAULT_MODEL, StudySettings, run_study

    settings = StudySettings(
        dataset=dataset,
        model=model or DATASET_DEFAULT_MODEL[dataset],
        epochs=epochs,
        train_subset=train_subset,
        test_subset=test_subset,
        learning_rate=learning_rate,
        precision=precision,
        recipe=recipe,
        noise_weight_decay=noise_weight_decay,
        alpha_zero_at=alpha_zero_at,
        data_dir=data_dir or "",
    )
    specs = [e.strip() for e in estimators.split(",") if e.strip()]
    run_study(settings, specs, seeds, output, verbose=0 if quiet else 2, save_models=save_models)
    click.echo(open(os.path.join(output, "results.md")).read())


# --- Export (keras_fda.export) --------------------------------------------------------


def _value_range(text):
    if text is None:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise KerasFDAError(f"--input-range must be two numbers LOW,HIGH, got {text!r}")
    if not low < high:
        raise KerasFDAError(f"--input-range needs LOW < HIGH, got {text!r}")
    return low, high


@main.command("export")
@click.argument("model", required=False)
@click.option(
    "--target",
    "-t",
    default=None,
    help="; ".join(f"{t.name}: {t.description}" for t in platforms.TARGETS.values()),
)
@click.option(
    "--cpu",
    default=None,
    help="cortex-m core: "
    + ", ".join(
        f"{c}{' (default)' if c == platforms.DEFAULT_CORE else ''}" for c in platforms.CORES
    ),
)
@click.option(
    "--board",
    default=None,
    help="check flash/RAM against this board instead of "
    "the core's reference board (see --list-cpus)",
)
@click.option(
    "--output",
    "-o",
    default="out",
    show_default=True,
    help="package folder to write (must be new or empty unless --force)",
)
@click.option("--force", is_flag=True, help="replace a non-empty --output")
@click.option(
    "--int8",
    is_flag=True,
    help="quantize every layer but the binary ones to int8 (tfmot) "
    "and convert with int8 input and output",
)
@click.option("--calibration", default=None, help="--int8: representative inputs (.npy)")
@click.option(
    "--fine-tune-epochs",
    default=0,
    show_default=True,
    type=int,
    help="--int8: quantization-aware fine-tune epochs (needs labels: an .npz "
    "with x and y as --calibration)",
)
@click.option(
    "--verify-inputs",
    default=None,
    help="inputs (.npy) to verify on; default: synthetic inputs in the model's input range",
)
@click.option(
    "--num-verify",
    default=16,
    show_default=True,
    type=int,
    help="number of synthetic inputs to verify on",
)
@click.option(
    "--input-range",
    default=None,
    help="LOW,HIGH of the synthetic inputs "
    "(default: -1,1, or 0,255 when the model starts with Rescaling)",
)
@click.option(
    "--tolerance",
    default=None,
    type=float,
    help="largest difference allowed between the LCE interpreter and Keras on an input: "
    "float, times max(1, |y|) (default 1e-4); int8, in output steps (default 1); inputs "
    "beyond it pass only on sign ties (export/README.md)",
)
@click.option(
    "--min-top1",
    default=None,
    type=float,
    help="smallest top-1 agreement allowed (default 1.0; int8: 0.9)",
)
@click.option(
    "--custom-objects",
    multiple=True,
    metavar="MODULE",
    help="import MODULE (a module name or a .py file) before loading, for the custom "
    "layers, quantizers or initializers it registers; repeatable (Larq Zoo: larq_zoo)",
)
@click.option(
    "--unsafe-lambda",
    is_flag=True,
    help="load Lambda layers (Keras safe_mode=False): their Python code runs; only for "
    "files you trust",
)
@click.option("--list-cpus", is_flag=True, help="print the supported cores and boards, exit")
@one_line_errors
def export_command(
    model,
    target,
    cpu,
    board,
    output,
    force,
    int8,
    calibration,
    fine_tune_epochs,
    verify_inputs,
    num_verify,
    input_range,
    tolerance,
    min_top1,
    custom_objects,
    unsafe_lambda,
    list_cpus,
):
    """Convert MODEL (.keras or SavedModel) with LCE into a verified package for --target."""
    if list_cpus:
        from keras_fda.export.chips import format_table

        click.echo(format_table())
        return
    if model is None:
        raise KerasFDAError("missing MODEL: keras-fda export model.keras --target arm64")
    if target is None:
        raise KerasFDAError(f"missing --target: {', '.join(platforms.TARGETS)}")
    from keras_fda.export import export_model
    from keras_fda.export.package import sigint_noted

    with sigint_noted():
        export_model(
            model,
            target,
            output,
            cpu=cpu,
            board=board,
            force=force,
            int8=int8,
            calibration=calibration,
            fine_tune_epochs=fine_tune_epochs,
            verify_inputs=verify_inputs,
            num_verify=num_verify,
            tolerance=tolerance,
            min_top1=min_top1,
            value_range=_value_range(input_range),
            custom_objects=custom_objects,
            unsafe_lambda=unsafe_lambda,
        )


@main.command("inspect")
@click.argument("path")
@one_line_errors
def inspect_command(path):
    """Print the op table, binary vs float MACs and sizes of a .tflite (or package folder)."""
    from keras_fda.export import inspect_path

    click.echo(inspect_path(path))


# ---- keras-fda run (targets: build the firmware, run it under emulation) -------------


def _load_npy(path):
    import numpy as np

    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise KerasFDAError(f"cannot read {path} as a .npy array ({error})")


def _warn_nonfinite(inputs, path):
    """One line on stderr when float inputs hold NaN or infinities. Not an error: the
    firmware computes them as the LCE interpreter does (float kernels saturate: NaN to
    the activation's upper bound, +-inf to the bounds), but such outputs rarely mean
    what the user wants, and a sensor or preprocessing fault is the usual cause."""
    import numpy as np

    if not np.issubdtype(inputs.dtype, np.floating):
        return
    nan, inf = int(np.isnan(inputs).sum()), int(np.isinf(inputs).sum())
    if nan or inf:
        click.echo(
            f"keras-fda: warning: {path} holds {nan:,} NaN and {inf:,} infinite values; "
            "the model saturates them as the LCE interpreter does (NaN to the upper bound)",
            err=True,
        )


def _save_npy_atomically(path, array):
    """Write the .npy next to its final name, then rename: never a half-written file."""
    import tempfile

    import numpy as np

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise KerasFDAError(f"cannot write {path}: folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=".keras-fda-", suffix=".npy", dir=folder)
    try:
        with os.fdopen(handle, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


@main.command()
@click.argument("package", type=click.Path())
@click.option(
    "--input",
    "-i",
    "input_path",
    default=None,
    type=click.Path(dir_okay=False),
    help=".npy array: N records of the model's input shape (or one record); "
    "default: the package's sample_input.npy",
)
@click.option(
    "--output",
    "-o",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False),
    help=".npy file to write the N outputs to",
)
@click.option(
    "--board",
    default=None,
    help="where to run: "
    + ", ".join(n for n, p in platforms.run_places().items() if p.emulated)
    + " (default: the package's target and cpu)",
)
@click.option(
    "--count/--no-count",
    default=True,
    show_default=True,
    help="count instructions per inference on arm64/armv7 (an exec trace of one "
    "inference); Cortex-M boards always count (QEMU -icount)",
)
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(1, 8),
    help="arm64/armv7/native: run the convolutions on this many threads (the same outputs)",
)
@one_line_errors
def run(package, input_path, output_path, board, count, threads):
    """Build PACKAGE's firmware for its target (cached), run it on the inputs, save outputs."""
    sample = input_path is None
    if sample:
        input_path = os.path.join(package, "sample_input.npy")
        if not os.path.isfile(input_path):
            raise KerasFDAError(f"no --input given and {package} has no sample_input.npy")
    elif not os.path.isfile(input_path):
        raise KerasFDAError(f"input file {input_path} does not exist")
    from keras_fda.export.runner import run_package

    inputs = _load_npy(input_path)
    _warn_nonfinite(inputs, input_path)
    outputs, stats = run_package(
        package, inputs, board=board, count_instructions=count, threads=threads
    )
    if isinstance(outputs, list):
        raise KerasFDAError("the model has several outputs; keras-fda run writes one .npy")
    _save_npy_atomically(output_path, outputs)
    click.echo(
        f"wrote {output_path}: {stats['inferences']} outputs of shape "
        f"{tuple(outputs.shape[1:])} {outputs.dtype}"
    )
    click.echo(f"board      {stats['board']} ({stats['description']})")
    if "instructions_per_inference" in stats:
        click.echo(
            f"instructions per inference  {stats['instructions_per_inference']:,}"
            + (f" (all {threads} threads)" if threads > 1 else "")
        )
    elif "ns_per_inference" in stats:
        click.echo(f"time per inference  {stats['ns_per_inference'] / 1e6:.3f} ms (native)")
    click.echo(
        f"model {stats['model_bytes']:,} bytes, arena {stats['arena_bytes']:,} bytes"
        + (f", flash {stats['flash_bytes']:,} bytes" if "flash_bytes" in stats else "")
        + (f", stack {stats['stack_bytes']:,} bytes" if "stack_bytes" in stats else "")
    )
    if "stack_bytes" in stats:
        click.echo(
            f"stack high-water mark  {stats['stack_bytes']:,} bytes (measured)"
            + (
                f", estimate {stats['stack_estimate_bytes']:,}"
                if "stack_estimate_bytes" in stats
                else ""
            )
        )
    if "ram_used_bytes" in stats:
        click.echo(
            f"RAM in use  {stats['ram_used_bytes']:,} bytes (static + arena + stack)"
            + (
                f", manifest total {stats['total_estimate_bytes']:,}"
                if "total_estimate_bytes" in stats
                else ""
            )
        )
    reference = os.path.join(package, "sample_output_lce.npy")
    if sample and os.path.isfile(reference):
        import numpy as np

        want = _load_npy(reference)
        if want.shape == outputs.shape:
            diff = np.max(np.abs(outputs.astype(np.float64) - want.astype(np.float64)))
            click.echo(f"max |difference| from the LCE interpreter's sample outputs: {diff:.3g}")


# ---- keras-fda bench (benchmarks/bench.py of a source checkout) ---------------------------

BENCH_SCRIPT = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "bench.py"
)


@main.command("bench")
@click.option("--quick", is_flag=True, help="skip arm64 and training")
@click.option("--only", default=None, help="tables: layer,model,train (default: all)")
@click.option("--targets", default=None, help="per-layer targets (default: cortex-m4,arm64)")
@one_line_errors
def bench_command(quick, only, targets):
    """Instruction-count benchmarks under QEMU (runs benchmarks/bench.py; prints tables)."""
    import subprocess

    if not os.path.isfile(BENCH_SCRIPT):
        raise KerasFDAError(f"{BENCH_SCRIPT} not found: keras-fda bench needs a source checkout")
    args = [sys.executable, BENCH_SCRIPT] + (["--quick"] if quick else [])
    args += (["--only", only] if only else []) + (["--targets", targets] if targets else [])
    status = subprocess.call(args)
    if status != 0:
        raise KerasFDAError(f"benchmarks/bench.py exited with status {status}")


if __name__ == "__main__":
    main()
