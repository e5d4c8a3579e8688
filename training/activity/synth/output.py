"""Stage 6: a sequence as contract landmark frames (JSON Lines, plus the true "label") and its
meta.json."""
from __future__ import annotations

import json
import os

from .common import CLASSES


def fmt_frames(ts, out, lost, lab, width, height):
    lines = []
    for i in range(len(ts)):
        if lost[i]:
            lms = "null"
        else:
            lms = "[" + ",".join("[%.5f,%.5f,%.5f,%.5f]" % tuple(r) for r in out[i]) + "]"
        lines.append('{"t":%.4f,"width":%d,"height":%d,"landmarks":%s,"label":"%s"}'
                     % (ts[i], width, height, lms, CLASSES[lab[i]]))
    s = "\n".join(lines) + "\n"
    return s.replace("-0.00000", "0.00000")


def write_sequence(out_dir, name, ts, out, lost, lab, meta):
    """<out_dir>/<name>.jsonl and <name>.meta.json."""
    with open(os.path.join(out_dir, name + ".jsonl"), "w") as f:
        f.write(fmt_frames(ts, out, lost, lab, meta["camera"]["width"], meta["camera"]["height"]))
    with open(os.path.join(out_dir, name + ".meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
