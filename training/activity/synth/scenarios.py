"""Stage 2: the plans of actions (TUG test, random mix, floor, workout, someone passing)."""
from __future__ import annotations

import math

import numpy as np

from .body import Chair, floor_seat, sample_chair
from .camera import Region, bearing_to_cam, direction_for
from .common import CLS, DT, fwd2, left2, wrap
from .motion import Builder, exercise_kinds


def scenario_tug(rng, bld: Builder, region: Region):
    b = bld.b
    L = rng.uniform(2.6, 3.1)  # walk to the 3 m line, turn there
    for _ in range(200):
        cat = rng.choice(["toward_first", "away_first", "across", "oblique"], p=[0.32, 0.32, 0.22, 0.14])
        if cat == "toward_first":
            c = region.sample(rng, L + 1.8, region.dmax - 0.4)
            yaw = bearing_to_cam(c) + rng.uniform(-0.45, 0.45)
        elif cat == "away_first":
            c = region.sample(rng, region.dmin + 0.2, region.dmax - L - 0.8)
            yaw = bearing_to_cam(c) + math.pi + rng.uniform(-0.45, 0.45)
        elif cat == "across":
            c = region.sample(rng, 2.5, region.dmax - 0.5)
            yaw = bearing_to_cam(c) + rng.choice([-1, 1]) * (math.pi / 2 + rng.uniform(-0.35, 0.35))
        else:
            c = region.sample(rng, 2.2, region.dmax - 0.5)
            yaw = bearing_to_cam(c) + rng.choice([-1, 1]) * rng.uniform(0.6, 1.05) + (math.pi if rng.random() < 0.5 else 0)
        cone = c + fwd2(yaw) * (L + 0.4)
        back = c - fwd2(yaw) * 0.6
        if region.inside(np.stack([c, cone, back]), shrink=0.2).all():
            break
    chair = sample_chair(rng, b, c, yaw)
    bld.init(c, yaw, sitting=True, chair=chair)
    if rng.random() < 0.3:
        bld.tables.append(table_near(rng, chair))
    bld.sit_still(rng.uniform(1.0, 4.0))
    bld.stand_up()
    if rng.random() < 0.35:
        bld.stand_still(rng.uniform(0.2, 0.8), gestures=False)
    start = bld.last["P"].copy()
    f, l = fwd2(yaw), left2(yaw)
    d_walk = L - float(np.dot(start - c, f))
    turn_dir = float(rng.choice([-1, 1]))
    spot = c + f * rng.uniform(0.15, 0.3) + l * rng.normal(0, 0.05)
    if rng.random() < 0.55:
        # walk out, U-turn round the marker in an arc, and head straight back to the chair
        r = rng.uniform(0.15, 0.45)
        end_arc = start + f * max(d_walk - r, 0.5) + l * turn_dir * 2 * r
        dv = spot - end_arc
        dpsi = wrap(math.atan2(dv[1], dv[0]) - (yaw + turn_dir * math.pi))
        segs = [("line", max(d_walk - r, 0.5)), ("arc", turn_dir * math.pi, r)]
        if abs(dpsi) > 0.05:
            segs.append(("arc", dpsi, 0.6))
        segs.append(("line", max(float(np.linalg.norm(dv)) - 0.6 * abs(dpsi), 0.3)))
        bld.walk(segs)
    else:
        # walk out, stop, turn on the spot, walk back
        bld.walk([("line", d_walk)])
        bld.turn_in_place(turn_dir * math.pi * rng.uniform(0.95, 1.05))
        dv = spot - bld.last["P"]
        dpsi = wrap(math.atan2(dv[1], dv[0]) - bld.last["psi"])
        segs = [("arc", dpsi, 0.6)] if abs(dpsi) > 0.05 else []
        bld.walk(segs + [("line", max(float(np.linalg.norm(dv)) - 0.6 * abs(dpsi), 0.3))])
    # turn round in front of the chair
    ang = wrap(yaw - bld.last["psi"])
    if abs(ang) > 2.6:
        ang = float(rng.choice([-1, 1])) * abs(ang)
    if abs(ang) > 0.3:
        bld.turn_in_place(ang)
    _adjust_chair_to_feet(bld, chair)
    bld.sit_down(chair)
    bld.sit_still(rng.uniform(1.0, 4.0))


def _adjust_chair_to_feet(bld: Builder, chair: Chair):
    """People stop where their legs touch the seat: shift the chair to match the feet."""
    b = bld.b
    f = fwd2(chair.yaw)
    feet = (bld.last["FL"] + bld.last["FR"]) / 2
    # chair front edge such that seated hip is thigh*~0.9..1.1 behind the feet
    hip_to_front = b.thigh * 0.93 - 0.04
    hip = feet - f * (b.thigh * bld.rng.uniform(0.85, 1.1))
    chair.pos = hip + f * hip_to_front
    chair.yaw = float(bld.last["psi"])


def table_near(rng, chair: Chair):
    f, l = fwd2(chair.yaw), left2(chair.yaw)
    c = chair.pos + f * rng.uniform(0.45, 0.7) + l * rng.uniform(-0.3, 0.3)
    return (np.r_[c, 0.37], np.array([rng.uniform(0.3, 0.45), rng.uniform(0.4, 0.7), 0.37]), chair.yaw)


def scenario_random(rng, bld: Builder, region: Region, duration):
    b = bld.b
    p = region.sample(rng)
    psi = bearing_to_cam(p) + rng.uniform(-math.pi, math.pi)
    if rng.random() < 0.35:
        chair = sample_chair(rng, b, p, psi)
        bld.init(p, psi, sitting=True, chair=chair)
        if rng.random() < 0.35:
            bld.tables.append(table_near(rng, chair))
    else:
        bld.init(p, psi)
    guard = 0
    while bld.t < duration and guard < 40:
        guard += 1
        if bld.sitting:
            bld.sit_still(rng.uniform(0.8, 6.0))
            bld.stand_up()
            continue
        a = rng.choice(["walk", "turn", "still", "sit", "exercise"], p=[0.46, 0.1, 0.16, 0.18, 0.1])
        P, psi = bld.last["P"].copy(), float(bld.last["psi"])
        if a == "walk":
            # mostly set off roughly the way one is facing; sometimes turn round first
            for _try in range(6):
                cat = rng.choice(["toward", "away", "across", "oblique"], p=[0.3, 0.3, 0.3, 0.1])
                h = direction_for(rng, P, cat)
                if abs(wrap(h - psi)) < 1.6 or rng.random() < 0.3:
                    break
            Lmax = region.max_len(P, h, 6.0)
            if Lmax < 1.0:
                continue
            Lw = rng.uniform(min(1.0, Lmax), Lmax)
            dpsi = wrap(h - psi)
            if abs(dpsi) > 0.35:
                if rng.random() < 0.5 and abs(dpsi) > 0.6:
                    bld.turn_in_place(dpsi)
                    segs = []
                else:
                    segs = [("arc", dpsi, rng.uniform(0.2, 0.7))]
            else:
                segs = [("arc", dpsi, 1.0)] if abs(dpsi) > 0.05 else []
            segs.append(("line", Lw))
            if rng.random() < 0.25:  # a second leg after a curve
                h2 = direction_for(rng, P + fwd2(h) * Lw, rng.choice(["toward", "away", "across"]))
                d2 = wrap(h2 - h)
                L2 = region.max_len(P + fwd2(h) * Lw, h2, 4.0)
                if L2 > 1.0 and abs(d2) > 0.6:
                    segs += [("arc", d2, rng.uniform(0.2, 0.6)), ("line", rng.uniform(0.8, L2))]
            bld.walk(segs)
        elif a == "turn":
            bld.turn_in_place(rng.choice([-1, 1]) * rng.uniform(math.pi / 3, math.pi))
        elif a == "still":
            bld.stand_still(rng.uniform(0.8, 5.0))
        elif a == "exercise":
            bld.exercise()
        else:
            # turn the back to where a chair is, sit
            ang = rng.choice([-1, 1]) * rng.uniform(math.pi * 0.5, math.pi)
            if rng.random() < 0.2:
                ang = 0.0  # already in front of the chair
            if ang:
                bld.turn_in_place(ang)
            chair = sample_chair(rng, b, bld.last["P"], float(bld.last["psi"]))
            _adjust_chair_to_feet(bld, chair)
            if not region.inside(chair.pos, shrink=-0.5)[0]:
                continue
            if rng.random() < 0.2:
                bld.tables.append(table_near(rng, chair))
            bld.sit_down(chair)
    if bld.t < 3.0:
        bld.stand_still(3.0 - bld.t)


def scenario_floor(rng, bld: Builder, region: Region, duration):
    """Down to the floor and up again (since 1.3.0): someone sits down on the floor (a mat,
    play with a child, practising getting up after a fall), perhaps lies back and sits up
    again, and stands up. Sitting down and standing up are `sit_down` / `stand_up`, sitting
    there `sitting`, lying back, lying and sitting up `other`."""
    b = bld.b
    old = b.age_group == "elderly"
    p = region.sample(rng)
    psi = bearing_to_cam(p) + rng.uniform(-math.pi, math.pi)
    if rng.random() < 0.25:  # found on the floor
        bld.init(p, psi, sitting=True, chair=floor_seat(p, psi))
    else:
        bld.init(p, psi)
    guard = 0
    while guard < 4 and (guard == 0 or bld.t < duration):
        guard += 1
        if not bld.sitting:
            if rng.random() < 0.5:
                bld.turn_in_place(rng.choice([-1, 1]) * rng.uniform(math.pi / 4, math.pi))
            bld.stand_still(rng.uniform(0.4, 2.5))
            bld.sit_down(floor_seat(bld.last["P"], float(bld.last["psi"])),
                         dur=rng.uniform(3.0, 5.5) if old else rng.uniform(1.6, 3.5))
        bld.sit_still(rng.uniform(0.5, 4.0))
        if rng.random() < 0.6:
            bld.lie_back(rng.uniform(1.0, 2.5))
            bld.emit2(int(rng.uniform(0.8, 6.0) / DT), label=CLS["other"], walk=0.0)
            bld.sit_up(rng.uniform(1.0, 2.5))
            bld.sit_still(rng.uniform(0.3, 2.0))
        bld.stand_up(dur=rng.uniform(3.0, 6.0) if old else rng.uniform(1.8, 4.0))
        P, h = bld.last["P"].copy(), float(bld.last["psi"])
        if rng.random() < 0.5 and region.max_len(P, h, 3.0) > 1.2:
            bld.walk([("line", rng.uniform(1.0, region.max_len(P, h, 3.0)))])
        bld.stand_still(rng.uniform(0.5, 2.5))


def scenario_workout(rng, bld: Builder, region: Region, duration):
    """Exercising in front of the camera (a gym, physiotherapy at home): sets of one
    movement with pauses, now and then a few steps or a turn in between."""
    p = region.sample(rng, 1.8, min(region.dmax - 0.5, 5.0))
    bld.init(p, bearing_to_cam(p) + rng.normal(0, 0.5) + (math.pi / 2 * rng.choice([-1, 1]) if rng.random() < 0.3 else 0.0))
    bld.stand_still(rng.uniform(0.5, 2.5))
    kind = None if rng.random() < 0.5 else str(rng.choice(exercise_kinds(bld.b)))
    guard = 0
    while bld.t < duration and guard < 20:
        guard += 1
        bld.exercise(kind)
        bld.stand_still(rng.uniform(0.5, 4.0))
        if rng.random() < 0.2:
            bld.turn_in_place(rng.choice([-1, 1]) * rng.uniform(math.pi / 4, math.pi / 2))
        if rng.random() < 0.4:
            kind = None if rng.random() < 0.5 else str(rng.choice(exercise_kinds(bld.b)))


def scenario_pass(rng, bld: Builder, region: Region):
    """Someone passes through the view (hallway): enters from outside the picture, walks
    across it (or comes toward the camera / goes away from it), maybe stops for a moment,
    and leaves; sometimes comes back."""
    mode = rng.choice(["across", "toward", "away"], p=[0.6, 0.2, 0.2])
    if mode == "across":
        D = rng.uniform(2.0, region.dmax - 0.3)
        w = D * math.tan(region.half + 0.12) * 1.15 + rng.uniform(1.0, 1.8)
        side = float(rng.choice([-1, 1]))
        tilt = rng.uniform(-0.25, 0.25)
        p0 = np.array([side * w, D + side * w * math.tan(tilt)])
        h = (0.0 if side < 0 else math.pi) + tilt
        L = 2 * w / math.cos(tilt)
    elif mode == "toward":
        b = rng.uniform(-region.half, region.half) * 0.6
        D0 = region.dmax + rng.uniform(0.5, 1.5)
        p0 = D0 * np.array([math.sin(b), math.cos(b)])
        h = bearing_to_cam(p0) + rng.uniform(-0.3, 0.3)
        L = D0 - rng.uniform(0.9, 1.8)
    else:
        b = rng.uniform(-region.half, region.half) * 0.6
        p0 = rng.uniform(1.0, 1.6) * np.array([math.sin(b), math.cos(b)])
        h = bearing_to_cam(p0) + math.pi + rng.uniform(-0.3, 0.3)
        L = region.dmax + 1.0 - np.linalg.norm(p0)
    bld.init(p0, h)
    if mode != "away" and rng.random() < 0.3:  # stops on the way
        a = rng.uniform(0.35, 0.65)
        bld.walk([("line", L * a)])
        if rng.random() < 0.5:
            ang = wrap(bearing_to_cam(bld.last["P"]) - bld.last["psi"])
            bld.turn_in_place(ang)
            bld.stand_still(rng.uniform(0.8, 3.0))
            bld.turn_in_place(-ang)
        else:
            bld.stand_still(rng.uniform(0.8, 3.0))
        bld.walk([("line", L * (1 - a))])
    else:
        bld.walk([("line", L)])
    if rng.random() < 0.35:  # comes back
        bld.turn_in_place(float(rng.choice([-1, 1])) * math.pi)
        bld.walk([("line", L * rng.uniform(0.5, 1.0))])
