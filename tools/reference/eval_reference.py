"""Independent reference for src/ml/eval (run with /usr/bin/python3; numpy only).

Written from the definitions, not from the TypeScript code and not from pycocotools (which is not
available here):

- COCO box AP (COCOeval, bbox, areaRng all, maxDets): within each image and category, detections in
  decreasing score order each claim the unclaimed ground truth of highest IoU among those with
  IoU >= t (ties: the later ground truth). Over the dataset, detections ranked by score (ties: image
  order, then rank within the image); precision/recall along that ranking; interpolated precision at
  recall r = the highest precision at any rank whose recall is >= r (0 if none); AP = mean over the 101
  recall points 0, .01, ..., 1. mAP = mean over IoU thresholds .50:.05:.95 and over categories that
  have ground truth. AR@maxDets = final recall averaged the same way.
- Attribute metrics on (ground truth, prediction) pairs: detections matched at IoU .5, or the
  ground-truth boxes' own predictions ("oracle"). Unlabelled (None) ground truth is skipped.
  single kinds: top-1 accuracy; macro-F1 over values seen in truth or predictions.
  multi kinds: predicted = probability >= threshold; micro-F1 over all (garment, value) decisions;
  macro-F1 over values seen; mAP = mean over values with a positive of
  sum_k (R_k - R_{k-1}) P_k taken at each distinct score (everything scoring >= it counted as retrieved).
- Fashionpedia AP^{IoU+F1}: as the box AP, a ground truth being claimable only if also
  F1(predicted attribute set, labelled attribute set) >= t_F1, for t_F1 in .50:.05:.95.

Writes test/ml/fixtures/eval_reference.json: inputs on random data and the expected report numbers.
Never run by npm test.
"""
import json
import os

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
F1_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)

CLASS_NAMES = ["__background__", "top", "bottom", "outer", "one-piece"]
ATTRIBUTES = [
    {"kind": "color", "type": "single", "values": ["red", "green", "blue", "black", "white"]},
    {"kind": "fit", "type": "single", "values": ["normal", "loose", "tight"]},
    {"kind": "material", "type": "multi", "values": ["cotton", "denim", "knit", "leather"]},
    {"kind": "print", "type": "multi", "values": ["stripe", "dot", "check"]},
]


# ---------------------------------------------------------------- random data

def random_box(rng, size=200.0):
    x1, y1 = rng.uniform(0, size * 0.7, 2)
    w, h = rng.uniform(10, size * 0.5, 2)
    return [float(x1), float(y1), float(x1 + w), float(y1 + h)]


def jitter(rng, box, scale):
    w, h = box[2] - box[0], box[3] - box[1]
    d = rng.normal(0, scale, 4) * np.array([w, h, w, h])
    out = [box[0] + d[0], box[1] + d[1], box[2] + d[2], box[3] + d[3]]
    if out[2] <= out[0]:
        out[2] = out[0] + 1
    if out[3] <= out[1]:
        out[3] = out[1] + 1
    return [float(v) for v in out]


def random_truth(rng):
    truth = {}
    for spec in ATTRIBUTES:
        if rng.uniform() < 0.25:
            truth[spec["kind"]] = None
            continue
        if spec["type"] == "single":
            pool = spec["values"] + (["purple"] if spec["kind"] == "color" else [])
            truth[spec["kind"]] = str(rng.choice(pool))
        else:
            pool = spec["values"] + (["lace"] if spec["kind"] == "material" else [])
            truth[spec["kind"]] = [v for v in pool if rng.uniform() < 0.35]
    return truth


def random_prediction(rng, truth, skill):
    """Probabilities leaning towards the truth by `skill`; single kinds softmax, multi kinds sigmoid."""
    out = {}
    for spec in ATTRIBUTES:
        expected = truth.get(spec["kind"]) if truth else None
        logits = rng.normal(0, 1, len(spec["values"]))
        for i, v in enumerate(spec["values"]):
            if expected is not None and (v == expected or (isinstance(expected, list) and v in expected)):
                logits[i] += skill
        if spec["type"] == "single":
            p = np.exp(logits - logits.max())
            p = p / p.sum()
        else:
            # rounded to 2 decimals: ties in the rankings and probabilities exactly at the 0.5 threshold
            p = np.round(1 / (1 + np.exp(-(logits - skill / 2))), 2)
        scores = [{"value": v, "probability": float(q)} for v, q in zip(spec["values"], p)]
        scores.sort(key=lambda s: -s["probability"])
        out[spec["kind"]] = scores
    return out


def random_case(seed, images, max_extra):
    rng = np.random.RandomState(seed)
    ground_truth, detections = [], []
    for _ in range(images):
        gts, dets = [], []
        for _ in range(rng.randint(0, 4)):
            # labels 1..3 only: class 4 (one-piece) never has ground truth
            g = {"box": random_box(rng), "label": int(rng.randint(1, 4)), "attributes": random_truth(rng)}
            g["predictedAttributes"] = random_prediction(rng, g["attributes"], skill=2.0)
            gts.append(g)
            if g["label"] != 3 and rng.uniform() < 0.85:  # class 3 (outer) is never detected correctly
                label = g["label"] if rng.uniform() < 0.9 else int(rng.randint(1, 5))
                dets.append({"box": jitter(rng, g["box"], rng.choice([0.02, 0.06, 0.15])), "label": label,
                             "score": float(np.round(rng.uniform(0.05, 1), 2)),
                             "attributes": random_prediction(rng, g["attributes"], skill=3.0)})
        for _ in range(rng.randint(0, max_extra + 1)):
            dets.append({"box": random_box(rng), "label": int(rng.randint(1, 5)),
                         "score": float(np.round(rng.uniform(0.05, 1), 2)),
                         "attributes": random_prediction(rng, None, skill=0)})
        ground_truth.append(gts)
        detections.append(dets)
    return ground_truth, detections


# ---------------------------------------------------------------- COCO AP from the definition

def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def category_items(ground_truth, detections, label, max_dets):
    """Per image: (ground truths, detections ranked by score and cut to max_dets) of one category."""
    per_image = []
    for gts, dets in zip(ground_truth, detections):
        g = [x for x in gts if x["label"] == label]
        d = [x for x in dets if x["label"] == label]
        ranked = sorted(range(len(d)), key=lambda i: (-d[i]["score"], i))[:max_dets]
        per_image.append((g, [d[i] for i in ranked]))
    return per_image


def claim(gts, dets, t_iou, allowed):
    """Which ground truth each detection claims (None if none)."""
    taken = [False] * len(gts)
    claims = []
    for d in dets:
        best, best_iou = None, -1.0
        for j, g in enumerate(gts):
            v = iou(d["box"], g["box"])
            if taken[j] or v < t_iou or not allowed(d, g):
                continue
            if v >= best_iou:
                best, best_iou = j, v
        if best is not None:
            taken[best] = True
        claims.append(best)
    return claims


def ap_and_recall(per_image, t_iou, allowed=lambda d, g: True):
    n_gt = sum(len(g) for g, _ in per_image)
    if n_gt == 0:
        return None, None, []
    ranked, pairs = [], []
    for image, (gts, dets) in enumerate(per_image):
        claims = claim(gts, dets, t_iou, allowed)
        for rank, (d, c) in enumerate(zip(dets, claims)):
            ranked.append((-d["score"], image, rank, c is not None))
            if c is not None:
                pairs.append((gts[c], d))
    ranked.sort()
    tp = np.cumsum([r[3] for r in ranked]).astype(float)
    seen = np.arange(1, len(ranked) + 1, dtype=float)
    precision = tp / seen if len(ranked) else np.zeros(0)
    recall = tp / n_gt if len(ranked) else np.zeros(0)
    interpolated = [max([p for p, r in zip(precision, recall) if r >= point], default=0.0) for point in RECALL_POINTS]
    return float(np.mean(interpolated)), float(recall[-1]) if len(ranked) else 0.0, pairs


def mean_defined(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


# ---------------------------------------------------------------- attribute metrics

def top1(scores):
    best = max(s["probability"] for s in scores)
    return next(s["value"] for s in scores if s["probability"] == best)


def f1_of(tp, fp, fn):
    return 2 * tp / (2 * tp + fp + fn)


def ranking_ap(scores, positive):
    scores, positive = np.array(scores, dtype=float), np.array(positive, dtype=bool)
    if not positive.any():
        return None
    ap, previous = 0.0, 0.0
    for s in sorted(set(scores.tolist()), reverse=True):
        retrieved = scores >= s
        recall = (retrieved & positive).sum() / positive.sum()
        ap += (recall - previous) * (retrieved & positive).sum() / retrieved.sum()
        previous = recall
    return float(ap)


def kind_metrics(spec, pairs, threshold):
    kind = spec["kind"]
    labelled = [(t, p) for t, p in pairs if t.get(kind) is not None]
    if spec["type"] == "single":
        truths = [t[kind] for t, _ in labelled]
        guesses = [top1(p[kind]) for _, p in labelled]
        values = sorted(set(truths) | set(guesses))
        f1s = [f1_of(sum(1 for a, b in zip(truths, guesses) if a == v and b == v),
                     sum(1 for a, b in zip(truths, guesses) if a != v and b == v),
                     sum(1 for a, b in zip(truths, guesses) if a == v and b != v)) for v in values]
        return {"type": "single", "evaluated": len(labelled),
                "accuracy": sum(a == b for a, b in zip(truths, guesses)) / len(labelled) if labelled else None,
                "macroF1": float(np.mean(f1s)) if f1s else None, "macroValues": len(values)}
    truths = [set(t[kind]) for t, _ in labelled]
    guesses = [{s["value"] for s in p[kind] if s["probability"] >= threshold} for _, p in labelled]
    values = sorted(set().union(*truths, *guesses)) if labelled else []
    counts = []
    for v in values:
        counts.append((sum(1 for t, g in zip(truths, guesses) if v in t and v in g),
                       sum(1 for t, g in zip(truths, guesses) if v not in t and v in g),
                       sum(1 for t, g in zip(truths, guesses) if v in t and v not in g)))
    totals = np.sum(counts, axis=0) if counts else None
    ranked_values = sorted(set(spec["values"]).union(*truths)) if labelled else spec["values"]
    aps = []
    for v in ranked_values:
        scores = [next((s["probability"] for s in p[kind] if s["value"] == v), 0.0) for _, p in labelled]
        aps.append(ranking_ap(scores, [v in t for t in truths]))
    return {"type": "multi", "evaluated": len(labelled), "threshold": threshold,
            "microF1": f1_of(*totals) if counts else None,
            "macroF1": float(np.mean([f1_of(*c) for c in counts])) if counts else None,
            "macroValues": len(values), "map": mean_defined(aps), "mapValues": sum(a is not None for a in aps)}


def attribute_report(pairs, threshold):
    return {"garments": len(pairs), "kinds": {spec["kind"]: kind_metrics(spec, pairs, threshold) for spec in ATTRIBUTES}}


def set_f1(truth, prediction, threshold):
    expected, guessed = set(), set()
    for spec in ATTRIBUTES:
        kind = spec["kind"]
        if truth.get(kind) is None:
            continue
        if spec["type"] == "single":
            expected.add((kind, truth[kind]))
            guessed.add((kind, top1(prediction[kind])))
        else:
            expected |= {(kind, v) for v in truth[kind]}
            guessed |= {(kind, s["value"]) for s in prediction[kind] if s["probability"] >= threshold}
    if not expected and not guessed:
        return 1.0
    return 2 * len(expected & guessed) / (len(expected) + len(guessed))


# ---------------------------------------------------------------- report

def reference_report(ground_truth, detections, max_dets, threshold):
    per_category, fashionpedia, matched_pairs = [], [], []
    for label in range(1, len(CLASS_NAMES)):
        per_image = category_items(ground_truth, detections, label, max_dets)
        results = [ap_and_recall(per_image, t) for t in IOU_THRESHOLDS]
        matched_pairs += [(g["attributes"], d["attributes"]) for g, d in results[0][2]]
        per_category.append({
            "label": label, "name": CLASS_NAMES[label],
            "groundTruth": sum(len(g) for g, _ in per_image), "detections": sum(len(d) for _, d in per_image),
            "ap": mean_defined([r[0] for r in results]), "ap50": results[0][0], "ap75": results[5][0],
            "ar100": mean_defined([r[1] for r in results]),
        })
        grid = [[ap_and_recall(per_image, ti, lambda d, g, tf=tf: set_f1(g["attributes"], d["attributes"], threshold) >= tf)[0]
                 for tf in F1_THRESHOLDS] for ti in IOU_THRESHOLDS]
        fashionpedia.append({"label": label, "name": CLASS_NAMES[label], "grid": grid,
                             "ap": mean_defined([v for row in grid for v in row])})
    grid = [[mean_defined([c["grid"][i][j] for c in fashionpedia]) for j in range(10)] for i in range(10)]
    oracle_pairs = [(g["attributes"], g["predictedAttributes"]) for gts in ground_truth for g in gts]
    return {
        "images": len(ground_truth),
        "groundTruthGarments": sum(len(g) for g in ground_truth),
        "detections": sum(len(d) for d in detections),
        "box": {"map": mean_defined([c["ap"] for c in per_category]), "ap50": mean_defined([c["ap50"] for c in per_category]),
                "ap75": mean_defined([c["ap75"] for c in per_category]), "ar100": mean_defined([c["ar100"] for c in per_category]),
                "perCategory": per_category},
        "attributes": {"matched": attribute_report(matched_pairs, threshold), "oracle": attribute_report(oracle_pairs, threshold)},
        "fashionpedia": {"ap": mean_defined([c["ap"] for c in fashionpedia]), "apIou50F150": grid[0][0], "apIou75F175": grid[5][5],
                         "grid": grid, "perCategory": [{"label": c["label"], "name": c["name"], "ap": c["ap"]} for c in fashionpedia]},
        "settings": {"iouThresholds": IOU_THRESHOLDS.tolist(), "f1Thresholds": F1_THRESHOLDS.tolist(), "recallPoints": 101,
                     "maxDetections": max_dets, "multiLabelThreshold": threshold, "attributeMatchIou": 0.5},
    }


def main():
    cases = []
    for name, seed, images, max_extra, max_dets, threshold in [
        ("default", 1, 60, 3, 100, 0.5),
        ("maxDets3", 2, 25, 6, 3, 0.4),
    ]:
        ground_truth, detections = random_case(seed, images, max_extra)
        config = {"classNames": CLASS_NAMES, "attributes": ATTRIBUTES, "maxDetections": max_dets, "multiLabelThreshold": threshold}
        cases.append({"name": name, "config": config, "groundTruth": ground_truth, "detections": detections,
                      "expected": reference_report(ground_truth, detections, max_dets, threshold)})
    out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "ml", "fixtures", "eval_reference.json")
    with open(out, "w") as f:
        json.dump({"generator": "tools/reference/eval_reference.py", "cases": cases}, f, separators=(",", ":"))
    for case in cases:
        e = case["expected"]
        print(case["name"], "mAP", e["box"]["map"], "AP50", e["box"]["ap50"], "AP^{IoU+F1}", e["fashionpedia"]["ap"],
              "matched", e["attributes"]["matched"]["garments"])


if __name__ == "__main__":
    main()
