"""`manifest.json`, the description of a package: one type that the export writes and
`keras-fda run` reads. The fields are documented in export/README.md; their order here is
the order in the file."""

from keras_fda.errors import KerasFDAError

import dataclasses
import json
import os

FORMAT = 1
FILENAME = "manifest.json"


@dataclasses.dataclass
class Manifest:
    format: int = FORMAT
    model: str = None
    target: str = "cortex-m"
    cpu: str = None
    input: object = None  # {name, shape, dtype, scale, zero_point}, a list for several
    output: object = None
    input_range: list = None
    int8: bool = False
    ops: dict = None
    macs: dict = None
    weight_bytes: int = None
    flatbuffer_bytes: int = None
    model_sha256: str = None  # of model.tflite: `keras-fda run` refuses a package without a match
    arena_bytes: int = None
    # Cortex-M: {arena_bytes, state_bytes, model_struct_bytes, stack_bytes, total_bytes,
    # board_ram_bytes, measured_on} (export/ram.py); absent from older packages
    ram: dict = None
    activation_lower_bound_bytes: int = None
    verification: dict = None
    not_binarized: list = None
    advice: list = None
    float_ops: dict = None
    int8_annotated_layers: list = None
    versions: dict = None
    chip: dict = None
    runtime_included: bool = None  # Linux targets only: absent from the file otherwise
    extra: dict = dataclasses.field(default_factory=dict)  # keys this version doesn't know

    def to_dict(self):
        data = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"
        }
        if self.runtime_included is None:
            del data["runtime_included"]
        data.update(self.extra)
        return data

    @classmethod
    def from_dict(cls, data):
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(
            **{k: v for k, v in data.items() if k in known},
            extra={k: v for k, v in data.items() if k not in known},
        )

    def save(self, folder):
        with open(os.path.join(folder, FILENAME), "w") as f:
            json.dump(self.to_dict(), f, indent=2)
            f.write("\n")

    @classmethod
    def load(cls, folder):
        """The manifest of the package in `folder`; `KerasFDAError` if it is not valid."""
        path = os.path.join(folder, FILENAME)
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise KerasFDAError(f"{path} is not valid JSON ({error})")
        if not isinstance(data, dict):
            raise KerasFDAError(f"{path} must hold a JSON object")
        return cls.from_dict(data)

    def tensors(self, key):
        """The raw description of the model's "input" or "output" tensors (older
        manifests may say "inputs"/"outputs")."""
        return self.extra.get(key + "s", getattr(self, key))

    def board(self):
        """The board the export's chip check used, if any."""
        if isinstance(self.chip, dict) and self.chip.get("board"):
            return str(self.chip["board"])
        return self.extra.get("board")
