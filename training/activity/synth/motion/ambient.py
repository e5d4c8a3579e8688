"""The channels concatenated, with ambient motion added on top."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..common import DT, colored, lowpass_fast
from ..labels import seated_still

if TYPE_CHECKING:
    from . import Builder


def finalize_channels(rng, bld: Builder) -> dict:
    """Concatenate channels and add ambient motion: postural sway, head look-around with
    anticipation of turns, small arm and trunk movements, breathing."""
    ch = {k: np.concatenate(v, 0) for k, v in bld.buf.items()}
    n = len(ch["psi"])
    walk = ch["walk"]
    sit = seated_still(ch)
    quiet = (1 - walk)
    amp = rng.uniform(0.5, 1.6) * (1.5 if bld.b.age_group == "elderly" else 1.0)
    sway = np.stack([colored(rng, n, DT, 0.35, 0.006 * amp), colored(rng, n, DT, 0.35, 0.006 * amp)], -1)
    ch["P"] = ch["P"] + sway * (quiet * (1 - 0.7 * sit))[:, None]
    ch["flex"] = ch["flex"] + colored(rng, n, DT, 0.3, 0.025 * amp) + 0.008 * np.sin(
        2 * np.pi * rng.uniform(0.2, 0.3) * np.arange(n) * DT)
    ch["lat"] = ch["lat"] + colored(rng, n, DT, 0.25, 0.02 * amp)
    ch["twist"] = ch["twist"] + colored(rng, n, DT, 0.2, 0.04) * quiet
    # head: glances (piecewise targets), smaller while walking; leads turns by ~0.25 s
    tgt = np.zeros(n)
    i = 0
    look = rng.uniform(0.2, 0.9)
    while i < n:
        m = int(rng.uniform(0.6, 4.0) / DT)
        tgt[i:i + m] = rng.normal(0, look) if rng.random() < 0.6 else 0.0
        i += m
    tgt = lowpass_fast(tgt, DT, 0.15)
    dpsi = np.gradient(np.unwrap(ch["psi"]), DT)
    lead = np.clip(lowpass_fast(dpsi, DT, 0.1) * rng.uniform(0.15, 0.35), -0.7, 0.7)
    ch["head_yaw"] = ch["head_yaw"] + tgt * (1 - 0.75 * walk) + lead + colored(rng, n, DT, 0.5, 0.04)
    ch["head_pitch"] = ch["head_pitch"] + colored(rng, n, DT, 0.3, 0.08) + rng.normal(0.05, 0.08)
    for s in "LR":
        ch["shf" + s] = ch["shf" + s] + colored(rng, n, DT, 0.4, 0.04)
        ch["elb" + s] = np.clip(ch["elb" + s] + colored(rng, n, DT, 0.4, 0.06), 0.02, 2.6)
        ch["abd" + s] = ch["abd" + s] + colored(rng, n, DT, 0.3, 0.03)
    return ch
