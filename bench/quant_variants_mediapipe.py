#!/usr/bin/env python3
"""Quantised model variants (training/pose/quantise.py) against MediaPipe 0.10.14 at the same
model_complexity, with exactly the method of bench/pose_variants_mediapipe.py (same clips,
stills, visible-landmark error in % of the image's larger side, other-person frames apart).
MediaPipe's output is computed once per complexity and cached (training/.cache/quant/
mediapipe_<model>.json); activityd runs with ACTIVITYD_MODELS=<variant dir>. Run in
training/.venv-mp:

  training/.venv-mp/bin/python bench/quant_variants_mediapipe.py --binary BIN \
      --models full,lite DIR/f32 DIR/int8_qdq ...

A variant directory named `f32` (or the repository's models/) is the unquantised baseline.
Prints one JSON object {variant: {model: {clip|stills: compare()}}}.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import pose_variants_mediapipe as pv  # noqa: E402


def reference(model, videos, stills, cache):
    path = os.path.join(cache, f"mediapipe_{model}.json")
    if os.path.exists(path):
        return json.load(open(path))
    pv.install_tflite(model)
    c = pv.COMPLEXITY[model]
    ref = {v: pv.mediapipe_video(os.path.join(REPO, f"tests/fixtures/video/{v}.mp4"), c)
           for v in videos}
    ref["stills"] = [pv.mediapipe_still(s, c) for s in stills]
    os.makedirs(cache, exist_ok=True)
    json.dump(ref, open(path, "w"))
    return ref


def ours(binary, models_dir, path, model):
    env = dict(os.environ, ACTIVITYD_MODELS=models_dir)
    out = subprocess.run(["nice", "-n", "19", binary, "pose", "--pose-model", model, path],
                         check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(line) for line in out.splitlines()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--models", default="full,lite")
    ap.add_argument("--videos", nargs="*", default=["sports2d_640x360", "pose2sim_cam01"])
    ap.add_argument("--cache", default=os.path.join(REPO, "training/.cache/quant"))
    ap.add_argument("variants", nargs="+")
    a = ap.parse_args()
    images = os.path.join(REPO, "tests/fixtures/images")
    stills = [os.path.join(images, n) for n in sorted(os.listdir(images))
              if not n.startswith("corrupt")]
    refs = {m: reference(m, a.videos, stills, a.cache) for m in a.models.split(",")}
    result = {}
    for vdir in a.variants:
        name = os.path.basename(os.path.normpath(vdir))
        for model, ref in refs.items():
            r = result.setdefault(name, {}).setdefault(model, {})
            for v in a.videos:
                path = os.path.join(REPO, f"tests/fixtures/video/{v}.mp4")
                try:
                    r[v] = pv.compare(ours(a.binary, vdir, path, model), ref[v])
                except subprocess.CalledProcessError as e:
                    r[v] = {"error": e.stderr.strip().splitlines()[-1]}
            try:
                r["stills"] = pv.compare(sum((ours(a.binary, vdir, s, model) for s in stills),
                                             []), ref["stills"])
            except subprocess.CalledProcessError as e:
                r["stills"] = {"error": e.stderr.strip().splitlines()[-1]}
            print(name, model, json.dumps(r), file=sys.stderr, flush=True)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
