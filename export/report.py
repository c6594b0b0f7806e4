"""The table of the README's main job: one package run on several boards, compared with
references (Keras, the LCE interpreter): accuracy, agreement, instructions, sizes."""

from keras_fda.export import platforms
from keras_fda.export.runner import run_package

import numpy as np


def target_report(
    package_dir, inputs, labels=None, references=None, boards=("mps2-an386", "arm64")
):
    """Run the package on each board and compare: one row per board with the test
    accuracy (if labels), the agreement of the predicted class with each reference
    (e.g. {"Keras": keras_logits, "LCE": lce_logits}) and the largest absolute
    difference, instructions per inference, flash, arena and RAM bytes (the image's
    static RAM, the stack's high-water mark, the board's RAM)."""
    references = references or {}
    rows = []
    for board in boards:
        outputs, stats = run_package(package_dir, inputs, board=board)
        row = {
            "target": f"{board} ({stats['cpu']})",
            "board": board,
            "instructions": stats.get("instructions_per_inference"),
            "flash_bytes": stats.get("flash_bytes"),
            "arena_bytes": stats["arena_bytes"],
            "model_bytes": stats["model_bytes"],
            "ram_bytes": stats.get("ram_bytes"),  # static: .data, .bss (the arena), heap
            "stack_bytes": stats.get("stack_bytes"),  # measured high-water mark
            "ram_available": getattr(platforms.run_place(board), "ram_bytes", None),
            "outputs": outputs,
        }
        flat = outputs.reshape(len(outputs), -1)
        if labels is not None:
            row["accuracy"] = float(np.mean(flat.argmax(axis=1) == np.asarray(labels)))
        for name, reference in references.items():
            reference = np.asarray(reference).reshape(len(flat), -1)
            row[f"agree_{name}"] = float(np.mean(flat.argmax(1) == reference.argmax(1)))
            row[f"max_diff_{name}"] = float(
                np.max(np.abs(flat.astype(np.float64) - reference.astype(np.float64)))
            )
        rows.append(row)
    return rows


def format_target_table(rows):
    """The rows of target_report as a plain-text table."""
    names = [k[len("agree_") :] for k in rows[0] if k.startswith("agree_")] if rows else []
    header = (
        ["target", "accuracy"]
        + [f"agree {n}" for n in names]
        + ["instr/inference", "flash B", "arena B"]
    )
    lines = []
    for row in rows:
        cells = [row["target"], f"{row['accuracy']:.4f}" if "accuracy" in row else "-"]
        cells += [f"{row[f'agree_{n}']:.4f} ({row[f'max_diff_{n}']:.1e})" for n in names]
        cells += [
            f"{row['instructions']:,}" if row["instructions"] else "-",
            f"{row['flash_bytes']:,}" if row["flash_bytes"] else "-",
            f"{row['arena_bytes']:,}",
        ]
        lines.append(cells)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    out += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)) for cells in lines]
    return "\n".join(out)
