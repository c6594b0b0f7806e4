"""The `keras-fda` command line: one click group, thin subcommands.

Each subcommand parses its arguments, calls one function of `keras_fda` or
`keras_fda.export`, and turns `KerasFDAError` into one line on stderr and exit code 1.
TensorFlow is imported inside the commands, so `keras-fda --help` stays fast.
"""
import functools
import os
import sys
import traceback

import click

from keras_fda.errors import KerasFDAError

ESTIMATOR_HELP = (
    "comma-separated estimators: ste_sign, approx_sign, ede, fda, and any of them with "
    "'+noise' for FDA's noise adaptation (e.g. fda+noise)"
)


def fail(message):
    """Print one line to stderr and exit non-zero."""
    click.echo(f"keras-fda: error: {message}", err=True)
    sys.exit(1)


def one_line_errors(command):
    """Turn the project's errors into one line; an unexpected one too, unless debugging."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KerasFDAError as error:
            fail(str(error))
        except KeyboardInterrupt:
            click.echo("keras-fda: interrupted", err=True)
            sys.exit(130)
        except Exception as error:  # a bug of ours: say so briefly, trace on demand
            if os.environ.get("KERAS_FDA_DEBUG"):
                traceback.print_exc()
            fail(f"internal error ({type(error).__name__}: {error}); "
                 "rerun with KERAS_FDA_DEBUG=1 for the traceback and report it")

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="keras-fda")
def main():
    """Train binary neural networks with FDA/EDE/ApproxSign and deploy them to Arm."""


@main.command()
@click.option("--output", "-o", default="estimators.png", show_default=True,
              type=click.Path(dir_okay=False), help="PNG file to write.")
@click.option("--n-terms", default="1,5,9,17", show_default=True,
              help="FDA's n values to draw, comma-separated.")
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
@click.option("--estimators", default="ste_sign,approx_sign,ede,fda,fda+noise",
              show_default=True, help=ESTIMATOR_HELP)
@click.option("--epochs", default=3, show_default=True, type=click.IntRange(1))
@click.option("--train-subset", default=10000, show_default=True, type=click.IntRange(0),
              help="training images to use (0: all 60,000)")
@click.option("--data-dir", default=None, type=click.Path(file_okay=False),
              help="Fashion-MNIST idx files (default: the Debian dataset-fashion-mnist path)")
@click.option("--seed", default=0, show_default=True)
@click.option("--output", "-o", default="runs/demo", show_default=True,
              type=click.Path(file_okay=False), help="where the trained models go")
@one_line_errors
def demo(estimators, epochs, train_subset, data_dir, seed, output):
    """The main job: train the small BNN on Fashion-MNIST with each estimator, print a table."""
    from keras_fda.demo import run_demo

    run_demo(
        estimators=[e.strip() for e in estimators.split(",") if e.strip()],
        epochs=epochs,
        train_subset=train_subset,
        data_dir=data_dir,
        seed=seed,
        output=output,
    )


if __name__ == "__main__":
    main()
