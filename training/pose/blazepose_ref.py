"""Small NumPy re-implementation of the MediaPipe BlazePose pre/post-processing steps needed to
feed the two models with realistic inputs during verification (numpy + Pillow only).

Follows mediapipe/modules/pose_detection/pose_detection_cpu.pbtxt and
mediapipe/modules/pose_landmark/*.pbtxt (mediapipe 0.10.14): SSD anchors, box decoding,
weighted NMS, detection -> rotated square ROI, ROI crop, landmark decoding and the heatmap
refinement that MediaPipe applies (and that the pruned ONNX model no longer feeds).
It is a test helper, not the daemon's implementation.
"""
import math

import numpy as np
from PIL import Image

DET_SIZE = 224
LM_SIZE = 256


def ssd_anchors(num_layers=5, min_scale=0.1484375, max_scale=0.75, size=DET_SIZE,
                strides=(8, 16, 32, 32, 32), offset=0.5):
    """SsdAnchorsCalculator with aspect_ratios [1.0], interpolated_scale_aspect_ratio 1.0 and
    fixed_anchor_size: returns [N, 2] anchor centres (x, y) in [0, 1]; width = height = 1."""
    anchors = []
    layer = 0
    while layer < num_layers:
        per_loc = 0
        last = layer
        while last < num_layers and strides[last] == strides[layer]:
            per_loc += 2  # aspect ratio 1.0 + the interpolated scale
            last += 1
        fm = math.ceil(size / strides[layer])
        for y in range(fm):
            for x in range(fm):
                for _ in range(per_loc):
                    anchors.append(((x + offset) / fm, (y + offset) / fm))
        layer = last
    return np.array(anchors, dtype=np.float32)


ANCHORS = ssd_anchors()
assert ANCHORS.shape == (2254, 2)


def warp_rect(rgb: np.ndarray, cx, cy, w, h, rot, out_w, out_h, border="zero"):
    """Emulates MediaPipe's CPU ImageToTensor converter (OpenCV): cv::warpPerspective with
    INTER_LINEAR from the rotated rect (centre cx, cy, size w x h, rotation rot; pixels /
    radians) onto out_w x out_h. The rect's top-left corner maps to output pixel (0, 0) and
    its top-right corner to (out_w, 0): output pixel (u, v) samples the source at
    centre + R(rot) * ((u / out_w - 0.5) * w, (v / out_h - 0.5) * h), no half-pixel offset
    and no anti-aliasing. Coordinates are quantised to 1/32 pixel and the result rounded to
    uint8 as OpenCV does. border: "zero" (BORDER_CONSTANT 0) or "replicate".
    Returns float32 [out_h, out_w, 3] in 0..255."""
    img = np.asarray(rgb, dtype=np.float32)
    H, W = img.shape[:2]
    c, s = math.cos(rot), math.sin(rot)
    u, v = np.meshgrid(np.arange(out_w, dtype=np.float64), np.arange(out_h, dtype=np.float64))
    lx, ly = (u / out_w - 0.5) * w, (v / out_h - 0.5) * h
    x = np.round((cx + c * lx - s * ly) * 32) / 32
    y = np.round((cy + s * lx + c * ly) * 32) / 32
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]

    def tap(yy, xx):
        if border == "replicate":
            return img[np.clip(yy, 0, H - 1), np.clip(xx, 0, W - 1)]
        inside = ((xx >= 0) & (xx < W) & (yy >= 0) & (yy < H))[..., None]
        return np.where(inside, img[np.clip(yy, 0, H - 1), np.clip(xx, 0, W - 1)], 0.0)

    out = (tap(y0, x0) * (1 - fx) * (1 - fy) + tap(y0, x0 + 1) * fx * (1 - fy)
           + tap(y0 + 1, x0) * (1 - fx) * fy + tap(y0 + 1, x0 + 1) * fx * fy)
    return np.clip(np.round(out), 0, 255).astype(np.float32)


def letterbox(img: Image.Image, size=DET_SIZE):
    """Detector input as MediaPipe makes it: the whole image, padded to a square
    (keep_aspect_ratio, centred, BORDER_ZERO = black), warped to size x size; float32 NHWC
    in [-1, 1]. Also returns the padding (left, top, right, bottom) as fractions."""
    rgb = np.asarray(img.convert("RGB"))
    H, W = rgb.shape[:2]
    side = max(W, H)
    x = warp_rect(rgb, W / 2, H / 2, side, side, 0.0, size, size, "zero")
    x = x[None] / 127.5 - 1.0
    px, py = (1 - W / side) / 2, (1 - H / side) / 2
    return x.astype(np.float32), (px, py, px, py)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def decode_detections(raw_boxes, raw_scores, min_score=0.5):
    """TensorsToDetectionsCalculator (reverse_output_order, scale 224, sigmoid score clipped at
    +-100). Returns (scores [K], boxes [K, 4] as xmin, ymin, xmax, ymax, keypoints [K, 4, 2]),
    all normalised to the 224x224 letterboxed input."""
    b = raw_boxes.reshape(-1, 12) / DET_SIZE
    scores = sigmoid(np.clip(raw_scores.reshape(-1), -100, 100))
    keep = scores >= min_score
    a = ANCHORS[keep]
    b = b[keep]
    cx, cy = b[:, 0] + a[:, 0], b[:, 1] + a[:, 1]
    w, h = b[:, 2], b[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    kps = b[:, 4:].reshape(-1, 4, 2) + a[:, None, :]
    return scores[keep], boxes, kps


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def weighted_nms(scores, boxes, kps, thresh=0.3):
    """NonMaxSuppressionCalculator, WEIGHTED, IoU 0.3: [(score, box, keypoints), ...]."""
    order = list(np.argsort(-scores))
    out = []
    while order:
        i = order[0]
        group = [j for j in order if iou(boxes[i], boxes[j]) > thresh]
        order = [j for j in order if j not in group]
        wsum = scores[group].sum()
        box = (boxes[group] * scores[group, None]).sum(0) / wsum
        kp = (kps[group] * scores[group, None, None]).sum(0) / wsum
        out.append((float(scores[i]), box, kp))
    return out


def remove_letterbox(kps, pad):
    left, top, right, bottom = pad
    out = kps.copy()
    out[..., 0] = (kps[..., 0] - left) / (1 - left - right)
    out[..., 1] = (kps[..., 1] - top) / (1 - top - bottom)
    return out


def detection_roi(kps_norm, img_w, img_h, scale=1.25):
    """AlignmentPointsRectsCalculator (keypoint 0 -> 1, target 90 degrees) followed by
    RectTransformationCalculator (scale 1.25, square_long). Returns (cx, cy, size, rotation)
    in pixels / radians."""
    x0, y0 = kps_norm[0, 0] * img_w, kps_norm[0, 1] * img_h
    x1, y1 = kps_norm[1, 0] * img_w, kps_norm[1, 1] * img_h
    size = 2.0 * math.hypot(x1 - x0, y1 - y0)
    rot = math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0)
    rot = rot - 2 * math.pi * math.floor((rot + math.pi) / (2 * math.pi))
    return x0, y0, size * scale, rot


def crop_roi(img: Image.Image, roi, size=LM_SIZE):
    """Landmark input as MediaPipe makes it: the rotated square ROI warped to size x size
    (BORDER_REPLICATE, the ImageToTensorCalculator default), float32 NHWC in [0, 1]."""
    cx, cy, side, rot = roi
    x = warp_rect(np.asarray(img.convert("RGB")), cx, cy, side, side, rot, size, size,
                  "replicate")
    return (x[None] / 255.0).astype(np.float32)


def refine_from_heatmap(xy_norm, heatmap, kernel=7, min_conf=0.5):
    """RefineLandmarksFromHeatmapCalculator: xy_norm [39, 2] in [0, 1] of the crop, heatmap
    [64, 64, 39] logits. Returns refined [39, 2]."""
    hh, hw, _ = heatmap.shape
    out = xy_norm.copy()
    off = (kernel - 1) // 2
    for i in range(xy_norm.shape[0]):
        col, row = int(xy_norm[i, 0] * hw), int(xy_norm[i, 1] * hh)
        # same test as MediaPipe's (which compares the column, not the row, with the height)
        if col < 0 or col >= hw or row < 0 or col >= hh:
            continue
        r0, r1 = max(0, row - off), min(hh, row + off + 1)
        c0, c1 = max(0, col - off), min(hw, col + off + 1)
        conf = sigmoid(heatmap[r0:r1, c0:c1, i])
        ssum = conf.sum()
        if conf.max() >= min_conf and ssum > 0:
            rows, cols = np.mgrid[r0:r1, c0:c1]
            out[i, 0] = (cols * conf).sum() / hw / ssum
            out[i, 1] = (rows * conf).sum() / hh / ssum
    return out


def crop_to_image(xy_crop_px, roi, size=LM_SIZE):
    """Landmark x, y in crop pixels (0..256) -> image pixels."""
    cx, cy, side, rot = roi
    u = (xy_crop_px[:, 0] / size - 0.5) * side
    v = (xy_crop_px[:, 1] / size - 0.5) * side
    c, s = math.cos(rot), math.sin(rot)
    return np.stack([cx + c * u - s * v, cy + s * u + c * v], 1)
