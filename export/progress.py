"""Progress lines for the long steps (converting, verifying, fine-tuning).

Progress and warnings go to stdout, as the export's report: stderr is kept for the one
line of an error, so a failing export prints exactly one line there."""

import contextlib
import sys
import time


def say(message):
    print(f"[export] {message}", file=sys.stdout, flush=True)


def warn(message):
    print(f"keras-fda: warning: {message}", file=sys.stdout, flush=True)


@contextlib.contextmanager
def step(message, log=say):
    """Log `message...`, run the block, log how long it took."""
    log(f"{message}...")
    start = time.perf_counter()
    yield
    log(f"{message}: done in {time.perf_counter() - start:.1f} s")


@contextlib.contextmanager
def quiet_tensorflow():
    """Silence TensorFlow's and the converter's Python warnings while a step runs."""
    import logging
    import warnings

    import tensorflow as tf

    logger = tf.get_logger()
    level = logger.level
    absl = logging.getLogger("absl")
    absl_level = absl.level
    logger.setLevel(logging.ERROR)
    absl.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
        absl.setLevel(absl_level)
