#!/usr/bin/env python3
"""Visual check of a landmark sequence (JSON Lines, contract format, optional "label").

  render.py SEQ.jsonl OUT.png [--frames 24] [--start T0] [--end T1]   contact sheet
  render.py SEQ.jsonl OUT.gif [--step 2]                               animation

Left side of the body blue, right side orange, the line alpha follows visibility; each panel
shows the image border, the time and the label. The PNG ends with a label timeline.
"""
import argparse
import json

import numpy as np

EDGES = [(0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
         (11, 12), (11, 23), (12, 24), (23, 24),
         (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
         (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
         (23, 25), (25, 27), (27, 29), (29, 31), (27, 31),
         (24, 26), (26, 28), (28, 30), (30, 32), (28, 32)]
LEFT = {1, 2, 3, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31}
RIGHT = {4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32}
CLASS_COLORS = {"walk_toward": "#1b9e77", "walk_away": "#d95f02", "turn": "#7570b3",
                "sit_down": "#e7298a", "stand_up": "#66a61e", "still": "#999999",
                "walk_across": "#e6ab02", "other": "#a6761d", None: "#ffffff"}


def load(path):
    fr = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                fr.append(json.loads(line))
    return fr


def edge_color(a, b):
    if a in LEFT and b in LEFT:
        return "#1f5fbf"
    if a in RIGHT and b in RIGHT:
        return "#ff7f0e"
    return "#444444"


def draw(ax, fr, title=True, zoom=None):
    W, H = fr["width"], fr["height"]
    ax.add_patch(__import__("matplotlib").patches.Rectangle((0, 0), W, H, fill=False, lw=0.8, ec="k"))
    lm = fr.get("landmarks")
    if lm is not None:
        a = np.array(lm)
        x, y, v = a[:, 0] * W, a[:, 1] * H, a[:, 3]
        for i, j in EDGES:
            al = float(np.clip(min(v[i], v[j]), 0.12, 1.0))
            ax.plot([x[i], x[j]], [y[i], y[j]], "-", color=edge_color(i, j), lw=1.6, alpha=al)
        ax.scatter(x, y, s=5, c=["#1f5fbf" if k in LEFT else "#ff7f0e" if k in RIGHT else "k"
                                 for k in range(33)], alpha=np.clip(v, 0.12, 1))
        ax.plot(x[0], y[0], "o", ms=3.5, color="r")
    else:
        ax.text(W / 2, H / 2, "no pose", ha="center", va="center", fontsize=8, color="r")
    if zoom is not None and lm is not None:
        ok = v > 0.3 if (v > 0.3).sum() > 5 else np.ones(33, bool)
        cx, cy = np.median(x[ok]), (np.min(y[ok]) + np.max(y[ok])) / 2
        ax.set_xlim(cx - zoom / 2, cx + zoom / 2)
        ax.set_ylim(cy + zoom * 0.6, cy - zoom * 0.6)
    else:
        m = 0.15 * max(W, H)
        ax.set_xlim(-m, W + m)
        ax.set_ylim(H + m, -m)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        lab = fr.get("label", "")
        ax.set_title(f"t={fr['t']:.2f} {lab}", fontsize=7, color=CLASS_COLORS.get(lab, "k"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("seq")
    ap.add_argument("out")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--cols", type=int, default=6)
    ap.add_argument("--start", type=float, default=None)
    ap.add_argument("--end", type=float, default=None)
    ap.add_argument("--zoom", action="store_true", help="centre each panel on the person")
    ap.add_argument("--step", type=int, default=2, help="GIF: use every n-th frame")
    a = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = load(a.seq)
    sel = [f for f in frames if (a.start is None or f["t"] >= a.start) and (a.end is None or f["t"] <= a.end)]
    if a.out.lower().endswith(".gif"):
        from PIL import Image
        imgs = []
        for f in sel[::a.step]:
            fig, ax = plt.subplots(figsize=(4, 4 * f["height"] / f["width"] + 0.4), dpi=80)
            draw(ax, f)
            fig.tight_layout()
            fig.canvas.draw()
            imgs.append(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3]))
            plt.close(fig)
        dt = (sel[-1]["t"] - sel[0]["t"]) / max(len(sel) - 1, 1) * a.step
        imgs[0].save(a.out, save_all=True, append_images=imgs[1:], duration=int(dt * 1000), loop=0)
        return
    idx = np.linspace(0, len(sel) - 1, min(a.frames, len(sel))).round().astype(int)
    zoom = None
    if a.zoom:
        ext = [max(np.ptp(np.array(f["landmarks"])[:, 0]) * f["width"], np.ptp(np.array(f["landmarks"])[:, 1]) * f["height"])
               for f in sel if f.get("landmarks")]
        zoom = 1.15 * float(np.percentile(ext, 95)) if ext else None
    rows = int(np.ceil(len(idx) / a.cols))
    W, H = sel[0]["width"], sel[0]["height"]
    pw = 2.2
    ph = (pw * H / W if zoom is None else pw * 1.2) + 0.3
    fig = plt.figure(figsize=(pw * a.cols, ph * rows + 0.9))
    gs = fig.add_gridspec(rows + 1, a.cols, height_ratios=[ph] * rows + [0.6])
    for k, i in enumerate(idx):
        draw(fig.add_subplot(gs[k // a.cols, k % a.cols]), sel[i], zoom=zoom)
    ax = fig.add_subplot(gs[rows, :])
    ts = np.array([f["t"] for f in frames])
    labs = [f.get("label") for f in frames]
    for i in range(len(frames) - 1):
        ax.axvspan(ts[i], ts[i + 1], color=CLASS_COLORS.get(labs[i], "w"), lw=0)
        if frames[i].get("landmarks") is None:
            ax.axvspan(ts[i], ts[i + 1], ymin=0, ymax=0.25, color="k", lw=0)
    for t in [sel[i]["t"] for i in idx]:
        ax.axvline(t, color="k", lw=0.5, alpha=0.5)
    ax.set_xlim(ts[0], ts[-1])
    ax.set_yticks([])
    ax.set_xlabel("t (s)   " + "  ".join(f"{c}" for c in CLASS_COLORS if c), fontsize=7)
    handles = [matplotlib.patches.Patch(color=c, label=k) for k, c in CLASS_COLORS.items() if k]
    ax.legend(handles=handles, ncol=7, fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.6))
    fig.suptitle(a.seq.split("/")[-1], fontsize=9)
    fig.tight_layout()
    fig.savefig(a.out, dpi=80)


if __name__ == "__main__":
    main()
