"""Stage 2: the Builder turns a plan of actions into per-frame control channels at DT.

Its methods are grouped by motion family, one mixin per module; `Builder` puts them together.
"""
from __future__ import annotations

from .ambient import finalize_channels
from .base import CHANNELS, BuilderBase
from .exercise import ExerciseMixin, exercise_kinds
from .locomotion import LocomotionMixin
from .sitstand import SitStandMixin
from .still import StillMixin


class Builder(LocomotionMixin, StillMixin, SitStandMixin, ExerciseMixin, BuilderBase):
    """Turns a plan of actions into per-frame control channels at DT."""


__all__ = ["Builder", "BuilderBase", "CHANNELS", "exercise_kinds", "finalize_channels"]
