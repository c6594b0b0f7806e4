"""The ops the export accepts, from the C runtime itself. The targets (`--target`) are in
`platforms.py`; `get_target` is re-exported for the pipeline's import."""

from keras_fda.errors import KerasFDAError
from keras_fda.export.platforms import get_target  # noqa: F401

import functools
import subprocess


@functools.cache
def supported_ops():
    """The ops the keras-fda C runtime implements, as TFLite names: what its host tool's
    `kfda_host ops` prints (the op registry, firmware/src/ops/op_list.h), run once per
    process. The tool is found or built as export/plan.py does; the export refuses a model
    holding any other op, naming the layer."""
    from keras_fda.export import plan

    tool = plan.find_tool()
    if tool is None:
        raise KerasFDAError(
            "cannot list the C runtime's ops: its host tool (kfda_host) is "
            "not built and there is no C compiler (cc, make) to build it"
        )
    try:
        done = subprocess.run([tool, "ops"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise KerasFDAError(f"{tool} ops failed to run ({error})")
    names = frozenset(done.stdout.split())
    if done.returncode != 0 or not names:
        raise KerasFDAError(f"{tool} ops printed no op list; rebuild the firmware's host tool")
    return names
