#!/usr/bin/env python3
"""Writes tests/fixtures/README.md: every fixture file with its origin, size, SHA-256 and
licence. Standard library only; called by fetch_fixtures.sh and make_reference.sh."""
import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
FIX = os.path.join(REPO, "tests", "fixtures")

S2D = ("sports2d==0.8.34 wheel, `Sports2D/Demo/demo.mp4` (VP9 4:4:4, 1768x994, 30 fps, "
       "230 frames, 7.67 s)", "BSD-3-Clause (Sports2D)")
P2S = "pose2sim==0.10.49 wheel, `Pose2Sim/Demo_SinglePerson/videos/{}` (H.264, {}, 60 fps)"
P2S_LIC = "BSD-3-Clause (Pose2Sim)"
SKI = "scikit-image==0.26.0 wheel, `skimage/data/{}`"

FILES = {
    "video/sports2d_640x360.mp4": (
        S2D[0] + "; whole clip re-encoded to 640x360, H.264 Main, I420, no B-frames, "
        "900 kbit/s, keyframe every 60 frames. The daemon's demo and most tests use it.", S2D[1]),
    "video/sports2d_1280x720.mp4": (
        S2D[0] + "; whole clip re-encoded to 1280x720, H.264 Main, I420, no B-frames, "
        "3000 kbit/s (benchmarks).", S2D[1]),
    "video/pose2sim_cam01.mp4": (
        P2S.format("cam01.mp4", "1080x1920") + "; whole clip (100 frames, 1.67 s) "
        "re-encoded to 540x960 (portrait), 60 fps, H.264 Main, I420, 1500 kbit/s.", P2S_LIC),
    "video/pose2sim_two_people.mp4": (
        "pose2sim==0.10.49 wheel, `Pose2Sim/Demo_MultiPerson/videos/cam04.mp4` (H.264, "
        "1088x1920, 60 fps): a man lunging on a treadmill, his arms passing in front of a woman "
        "standing behind him; whole clip (100 frames, 1.67 s) re-encoded to 540x960 (portrait), "
        "60 fps, H.264 Main, I420, 1500 kbit/s. Two real people (tests/pose.rs).", P2S_LIC),
    "images/sports2d_f015_box_arms_out.jpg": (
        S2D[0] + ", frame 15 (t=0.5 s): a man standing on a box, arms out, small in the "
        "frame; MediaPipe finds no pose here.", S2D[1]),
    "images/sports2d_f075_side_walk_two_people.jpg": (
        S2D[0] + ", frame 75 (t=2.5 s): a woman walking (side view) and the man on the box.",
        S2D[1]),
    "images/sports2d_f200_crouch_after_jump.jpg": (
        S2D[0] + ", frame 200 (t=6.67 s): the man crouching after jumping down, side view.",
        S2D[1]),
    "images/pose2sim_cam01_f030_front.jpg": (
        P2S.format("cam01.mp4", "1080x1920") + ", frame 30 (t=0.5 s): frontal view.", P2S_LIC),
    "images/pose2sim_cam03_f000_back.jpg": (
        P2S.format("cam03.mp4", "1088x1920") + ", frame 0: back view.", P2S_LIC),
    "images/pose2sim_cam04_f060_back_side.jpg": (
        P2S.format("cam04.mp4", "1088x1920") + ", frame 60 (t=1.0 s): back/side view, leaning.",
        P2S_LIC),
    "images/skimage_astronaut.jpg": (
        SKI.format("astronaut.png") + " (Eileen Collins, NASA), re-encoded as JPEG q90.",
        "public domain (\"No known copyright restrictions, released into the public "
        "domain\", scikit-image's data docstring; NASA)"),
    "images/skimage_coffee_no_person.png": (
        SKI.format("coffee.png") + ", original bytes. No person.",
        "CC0 (photographer Rachel Michetti, per scikit-image's docstring)"),
    "images/skimage_chelsea_no_person.png": (
        SKI.format("chelsea.png") + ", original bytes. A cat, no person; 451 px wide, so RGB "
        "rows are not a multiple of 4 bytes.", "CC0 (photographer Stefan van der Walt)"),
    "images/corrupt_truncated.jpg": (
        "first 30 % of images/pose2sim_cam01_f030_front.jpg (no EOI marker): a truncated "
        "JPEG.", P2S_LIC),
    "images/corrupt_not_an_image.jpg": ("a plain text file named .jpg.", "-"),
    "reference/images.json": (
        "MediaPipe 0.10.14 `mp.solutions.pose.Pose(static_image_mode=True, "
        "model_complexity=1)` on every file of images/ (decoded with Pillow): file name -> "
        "{width, height, landmarks: 33 x [x, y, z, visibility] or null, decodable}.",
        "generated (training/pose/make_reference.py); inputs as above"),
    "reference/sports2d_640x360.jsonl": (
        "MediaPipe 0.10.14 video mode (static_image_mode=False, smooth_landmarks=True, "
        "model_complexity=1) on every frame of video/sports2d_640x360.mp4, decoded with "
        "GStreamer (decodebin ! videoconvert ! RGB) like the daemon, timestamps i/30 s; one "
        "landmark frame per line (interfaces.md format).",
        "generated (training/pose/make_reference.py)"),
    "reference/pose2sim_cam01.jsonl": (
        "as above for video/pose2sim_cam01.mp4 (timestamps i/60 s).",
        "generated (training/pose/make_reference.py)"),
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def main():
    lines = [
        "# Test fixtures",
        "",
        "Real footage and images for the pose pipeline, made by `training/pose/fetch_fixtures.sh`",
        "(pinned PyPI wheels, SHA-256 checked; GStreamer re-encode) and reference landmarks made",
        "by `training/pose/make_reference.sh` (MediaPipe 0.10.14). This file is generated by",
        "`training/pose/fixtures_readme.py`; do not edit by hand.",
        "",
        "Source wheels (SHA-256):",
        "- `sports2d-0.8.34-py3-none-any.whl` "
        "`733b6db70742636ae9c35d870c22bd416582f579abd5881bee93a14bb0e2655d`",
        "- `pose2sim-0.10.49-py3-none-any.whl` "
        "`403e0dc4065898ba6a595e72a8970950310979253d60e24c2e00b16b36bf21e1`",
        "- `scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl` "
        "`74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af`",
        "",
        "| file | bytes | sha256 | origin | licence |",
        "|---|---:|---|---|---|",
    ]
    total = 0
    for rel, (origin, lic) in FILES.items():
        path = os.path.join(FIX, rel)
        if not os.path.exists(path):
            lines.append(f"| `{rel}` | - | (missing) | {origin} | {lic} |")
            continue
        size = os.path.getsize(path)
        total += size
        lines.append(f"| `{rel}` | {size} | `{sha256(path)}` | {origin} | {lic} |")
    lines += [
        "",
        f"Total: {total / 1e6:.1f} MB.",
        "",
        "Notes",
        "- Stills are single decoded frames of the original clips (not of the re-encoded ones), "
        "JPEG quality 90.",
        "- In `reference/sports2d_640x360.jsonl` MediaPipe tracks one person at a time: the man "
        "on the box from 0.1 s to ~5.4 s (he jumps down), then the woman walking left "
        "(~5.6-6.7 s), then the man again; `null` at 0-0.2 s, 5.57 s, 6.7 s and the last frames.",
        "- Reference images were decoded with Pillow (libjpeg-turbo); another JPEG decoder may "
        "differ by +-1 per pixel. Videos were decoded with GStreamer, as the daemon does.",
        "",
        "## Licences",
        "",
        "The Sports2D and Pose2Sim files are redistributed under their BSD 3-Clause licences "
        "(the two texts are identical; copies: `LICENSE-sports2d.txt`, `LICENSE-pose2sim.txt`):",
        "",
        "```",
    ]
    with open(os.path.join(FIX, "LICENSE-sports2d.txt")) as f:
        lines += f.read().rstrip("\n").splitlines()
    lines += ["```", "",
              "scikit-image sample images: astronaut is public domain (NASA); coffee and chelsea "
              "are CC0. scikit-image itself is BSD-3-Clause.", ""]
    with open(os.path.join(FIX, "README.md"), "w") as f:
        f.write("\n".join(lines))
    print(f"wrote tests/fixtures/README.md ({total / 1e6:.1f} MB of fixtures)")


if __name__ == "__main__":
    main()
