#!/usr/bin/env python3
"""CPU seconds per second of camera video by how many people are tracked (issue 23): the
daemon on a looping clip at process_fps 15, measured from /proc (user + system time over a
steady window), with the people it tracks read from /metrics.

  * 1, 2, 4 people: a 1280x360 clip of the Sports2D clip twice side by side (up to four
    people in view; made here with GStreamer's compositor), with pose.max_people = 1, 2, 4.
  * One person tracked, room for more: the single-person Pose2Sim clip with max_people = 1
    (one track, the detector only when it is lost) and 4 (the detector also looks for
    newcomers once a second), alternated: what tracking several people costs when only one
    is there.

  bench/people_cpu.py [--seconds 20] [--rounds 2]
"""
import argparse, os, re, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from cpu_per_second import ROOT, counters, cpu_s, free_port  # noqa: E402

BIN = os.environ.get("ACTIVITYD_BIN", os.path.join(ROOT, "target/release/activityd"))


def side_by_side(out):
    """The Sports2D clip twice, side by side (1280x360, 230 frames, up to 4 people)."""
    if os.path.exists(out):
        return out
    clip = os.path.join(ROOT, "tests/fixtures/video/sports2d_640x360.mp4")
    src = f"filesrc location={clip} ! decodebin ! videoconvert"
    cmd = (f"gst-launch-1.0 -q compositor name=c sink_1::xpos=640 ! videoconvert ! "
           f"x264enc threads=1 ! mp4mux ! filesink location={out}.part "
           f"{src} ! c.sink_0 {src} ! c.sink_1")
    subprocess.run(cmd, shell=True, check=True)
    os.rename(out + ".part", out)
    return out


def people_tracked(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r'^activityd_people_tracked\{camera="cam0"\} (\S+)', text, re.M)
    return float(m.group(1)) if m else float("nan")


def run(clip, max_people, seconds):
    """(CPU s per camera s, frames analysed per s, mean people tracked) at process_fps 15."""
    work = tempfile.mkdtemp()
    port = free_port()
    open(f"{work}/a.toml", "w").write(
        f'device_id = "c"\n[api]\nbind = "127.0.0.1:{port}"\n[mqtt]\nenabled = false\n'
        f'[pose]\nmax_people = {max_people}\n'
        f'[[cameras]]\nid = "cam0"\nsource = "file://{clip}"\nloop = true\nprocess_fps = 15\n')
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
    four = side_by_side(os.path.join(out, "sports2d_x2_1280x360.mp4"))
    one = os.path.join(ROOT, "tests/fixtures/video/pose2sim_cam01.mp4")
    print("max_people  clip                 CPU s/camera s  analysed fps  people tracked (mean)")
    rows = {}
    for r in range(a.rounds):
        for mp in (1, 2, 4):
            cps, fps, n = run(four, mp, a.seconds)
            rows.setdefault(("four", mp), []).append(cps)
            print(f"{mp:>10}  sports2d x2         {cps:14.3f}  {fps:12.1f}  {n:5.2f}", flush=True)
        for mp in (1, 4):
            cps, fps, n = run(one, mp, a.seconds)
            rows.setdefault(("one", mp), []).append(cps)
            print(f"{mp:>10}  pose2sim (1 person) {cps:14.3f}  {fps:12.1f}  {n:5.2f}", flush=True)
    med = lambda v: sorted(v)[len(v) // 2]
    base = med(rows[("four", 1)])
    for mp in (2, 4):
        print(f"sports2d x2: max_people {mp} / 1 = {med(rows[('four', mp)]) / base:.2f}x CPU")
    print(f"one person: max_people 4 / 1 = {med(rows[('one', 4)]) / med(rows[('one', 1)]):.3f}x CPU")


if __name__ == "__main__":
    main()
