#!/usr/bin/env python3
"""CPU seconds per second of camera video by how many people are in view (issue 23): the
daemon on a looping clip with 1 or 2 people, analysing every frame (15 fps), measured from
/proc (user + system time over a steady window), with the people it tracks read from
/metrics; and, with one person in view, pose.max_people = 1 against the default 4 (the
detector also looks for newcomers once a second): what room for more people costs.

The clips (1280x1280, 15 fps, 8 s, made here once into target/bench/): real people cut from
the fixture photos (Pose2Sim), 1 or 2 of them side by side on grey, each swaying sideways so
the tracker follows them. Four is computed (one plus three times what the second person
adds): BlazePose's detector does not find four people this size in one frame of our
fixtures (their faces are blurred, and the Sports2D people are small), so a 4-person clip
measured how often the detector misses, not what tracking costs. OpenCV writes them (run with the MediaPipe venv's Python, as
`make bench` does: training/.venv-mp has opencv).

  bench/people_cpu.py [--seconds 20] [--rounds 2]
"""
import argparse, json, math, os, re, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from cpu_per_second import ROOT, counters, cpu_s, free_port  # noqa: E402

BIN = os.environ.get("ACTIVITYD_BIN", os.path.join(ROOT, "target/release/activityd"))
PHOTOS = ["pose2sim_cam04_f060_back_side.jpg", "pose2sim_cam01_f030_front.jpg"]


def person_cut(cv2, name):
    """The person in a fixture photo (box from `activityd pose`'s landmarks, with margins)."""
    path = os.path.join(ROOT, "tests/fixtures/images", name)
    lm = json.loads(subprocess.run([BIN, "pose", path], capture_output=True, text=True,
                                   check=True).stdout)["landmarks"]
    img = cv2.imread(path)
    h, w = img.shape[:2]
    xs, ys = [p[0] * w for p in lm], [p[1] * h for p in lm]
    mx, my = 0.25 * (max(xs) - min(xs)), 0.15 * (max(ys) - min(ys))
    x0, x1 = int(max(min(xs) - mx, 0)), int(min(max(xs) + mx, w))
    y0, y1 = int(max(min(ys) - 2 * my, 0)), int(min(max(ys) + my, h))
    return img[y0:y1, x0:x1]


def clip_with(n, out):
    """`n` people, each in a cell of a 2x2 grid on a 1280x1280 frame (as large as the
    detector needs them: ~560 px of a 1280-px frame), swaying, at 15 fps for 8 s."""
    if os.path.exists(out):
        return out
    import cv2
    import numpy as np
    people = []
    for i, name in enumerate(PHOTOS[:n]):
        cut = person_cut(cv2, name)
        height = min(560, 600 * cut.shape[0] // cut.shape[1])
        people.append(cv2.resize(cut, (cut.shape[1] * height // cut.shape[0], height)))
    writer = cv2.VideoWriter(out + ".part.mp4", cv2.VideoWriter_fourcc(*"mp4v"), 15, (1280, 1280))
    for f in range(120):
        canvas = np.full((1280, 1280, 3), 128, np.uint8)
        for i, p in enumerate(people):
            col, row = i % 2, i // 2
            cx = int(640 * col + 320 + 20 * math.sin(2 * math.pi * (f / 60 + i / 4)))
            ph, pw = p.shape[:2]
            x0 = max(640 * col, min(640 * col + 640 - pw, cx - pw // 2))
            y1 = 640 * row + 620
            canvas[y1 - ph:y1, x0:x0 + pw] = p
        writer.write(canvas)
    writer.release()
    os.rename(out + ".part.mp4", out)
    return out


def people_tracked(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r'^activityd_people_tracked\{camera="cam0"\} (\S+)', text, re.M)
    return float(m.group(1)) if m else float("nan")


def run(clip, max_people, seconds):
    """(CPU s per camera s, frames analysed per s, mean people tracked), every frame analysed."""
    work = tempfile.mkdtemp()
    port = free_port()
    open(f"{work}/a.toml", "w").write(
        f'device_id = "c"\n[api]\nbind = "127.0.0.1:{port}"\n[mqtt]\nenabled = false\n'
        f'[pose]\nmax_people = {max_people}\n'
        f'[[cameras]]\nid = "cam0"\nsource = "file://{clip}"\nloop = true\n')
    d = subprocess.Popen([BIN, "run", "--config", f"{work}/a.toml"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(5)
        c0, t0, n0 = cpu_s(d.pid), time.time(), counters(port)
        people, end = [], time.time() + seconds
        while time.time() < end:
            time.sleep(0.5)
            people.append(people_tracked(port))
        c1, t1, n1 = cpu_s(d.pid), time.time(), counters(port)
    finally:
        d.terminate()
        d.wait()
    frames, skipped, dropped = (b - a for a, b in zip(n0, n1))
    return (c1 - c0) / (t1 - t0), (frames - skipped - dropped) / (t1 - t0), sum(people) / len(people)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    out = os.path.join(ROOT, "target/bench")
    os.makedirs(out, exist_ok=True)
    clips = {n: clip_with(n, os.path.join(out, f"people_{n}.mp4")) for n in (1, 2)}
    print("in view  max_people  CPU s/camera s  analysed fps  people tracked (mean)")
    rows = {}
    for _ in range(a.rounds):
        for n, mp in ((1, 1), (1, 4), (2, 4)):
            cps, fps, tracked = run(clips[n], mp, a.seconds)
            rows.setdefault((n, mp), []).append((cps, fps))
            print(f"{n:>7}  {mp:>10}  {cps:14.3f}  {fps:12.1f}  {tracked:5.2f}", flush=True)
    med = lambda v: sorted(v)[len(v) // 2]
    per_frame = {k: med([c / f for c, f in v]) for k, v in rows.items()}
    one, two = per_frame[(1, 4)], per_frame[(2, 4)]
    for n, v in ((1, one), (2, two)):
        print(f"{n} in view: {1000 * v:.1f} ms CPU per analysed frame ({v / one:.2f}x one person)")
    # Each person tracked adds the same work (a crop, a landmark run, their classifier): four
    # is one plus three times what the second added.
    four = one + 3 * (two - one)
    print(f"4 in view (one + 3 x the second's cost): {1000 * four:.1f} ms ({four / one:.2f}x)")
    print(f"one person, max_people 4 / 1: {one / per_frame[(1, 1)]:.3f}x CPU per frame")


if __name__ == "__main__":
    main()
