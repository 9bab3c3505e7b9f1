"""Identity-disjoint cross-validation: the motion embedder, both calibrations, every signal.

1. Identities are dealt into folds (after ``label_corrections.json``: labels of
   ``../shared/data`` found wrong). Each fold's motion model is trained on the other folds'
   identities only (``fingerprint-live train``'s code), and the avatar view's own embedding
   centre is fitted on the same people's clips rendered through the avatar
   (``offline/view_center.py``).
2. On each fold's held-out clips, every comparison is scored: motion windows as recorded
   (``camera``) and rendered through the default avatar (``avatar``), and face descriptors.
3. Calibrations (score -> log-likelihood ratio), and for a model of several branches each
   view's branch mix before them, are fitted leave-one-fold-out: a fold's models get those
   fitted on the *other* folds' held-out scores, so no fold is scored with a calibration or mix
   that saw it. The shipped ones are fitted on every fold's held-out scores.
4. ``fingerprint-live eval`` runs unchanged on each fold's held-out clips: motion (raw, same face
   in landmark space, through the avatar as the receiver runs it: enrolled from the camera),
   appearance, and fused; each with ``--takeover``.

    python benchmarks/cross_validation.py --folds 4 --steps 800 --out benchmarks/results \\
        --ship fingerprint_live/models
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from fingerprint_live.cli import main as cli
from fingerprint_live.decision import Signal
from fingerprint_live.embedder import Embedder
from fingerprint_live.face_descriptor import MODEL_FILE, FaceDescriptor
from fingerprint_live.model_files import model_dir
from fingerprint_live.offline.calibrate import fit_calibration, fit_mix
from fingerprint_live.offline.evaluation import comparison_scores, embed_clips
from fingerprint_live.offline.manifest import Clip, read_manifest, write_manifest
from fingerprint_live.offline.metrics import bootstrap_auc, summary
from fingerprint_live.offline.view_center import fit_view_center

#: ``fingerprint-live eval`` runs per fold: name -> extra arguments.
VARIANTS = {
    "raw": ["--signals", "motion"],
    "same_face": ["--signals", "motion", "--same-face"],
    # the receiver as it runs: the avatar, against an enrollment made from the owner's camera
    # recording and its rendering through the avatar
    "avatar": ["--signals", "motion", "--through-avatar"],
    # the same, enrolled from the camera recording alone (the enrollment before 2026-12-04)
    "avatar_camera_enrolled": ["--signals", "motion", "--through-avatar", "--enrolled-from",
                               "camera"],
    # the receiver with landmarks on every other frame
    "avatar_every2": ["--signals", "motion", "--through-avatar", "--every", "2"],
    "appearance": ["--signals", "appearance"],
    "fused": ["--signals", "fused"],
}
HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "manifest.csv"
CORRECTIONS = HERE / "label_corrections.json"


def corrected(clips: list[Clip], corrections: dict) -> list[Clip]:
    """Clips with wrong identity labels merged and duplicate recordings dropped."""
    drop = set(corrections.get("drop", []))
    merge = corrections.get("merge", {})
    return [Clip(c.path, merge.get(c.identity, c.identity), c.kind) for c in clips
            if not any(str(c.path).endswith(d) for d in drop)]


def folds(clips: list[Clip], k: int, seed: int) -> list[set[str]]:
    """Deal identities into k folds; identities with several clips are dealt first, evenly."""
    counts = defaultdict(int)
    for c in clips:
        counts[c.identity] += 1
    rng = np.random.default_rng(seed)
    multi = [i for i in sorted(counts) if counts[i] > 1]
    single = [i for i in sorted(counts) if counts[i] == 1]
    rng.shuffle(multi)
    rng.shuffle(single)
    out = [set() for _ in range(k)]
    for n, ident in enumerate(multi + single):
        out[n % k].add(ident)
    return out


def has_view_center(folder: Path) -> bool:
    meta = json.loads((folder / "embedder.json").read_text())
    return "avatar" in meta.get("view_centers", {})


def held_out_scores(fold: Path, kinds: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Genuine and impostor raw scores on a fold's held-out clips, per kind: ``camera`` and
    ``avatar`` (motion windows as recorded and through the default avatar, enrolled as the
    product enrolls), ``appearance``."""
    out = {}
    for kind in kinds:
        cache = fold / f"scores_{kind}.npz"
        if not cache.is_file():
            embedder = Embedder(fold / "model", threads=2)
            descriptor = FaceDescriptor(fold / "model") if kind == "appearance" else None
            view = "avatar" if kind == "avatar" else "camera"
            scored, _ = embed_clips(read_manifest(fold / "test.csv"), embedder, None, True, view,
                                    descriptor)
            signal = Signal.APPEARANCE if kind == "appearance" else Signal.MOTION
            genuine, impostor = comparison_scores(scored, signal, embedder.info,
                                                  descriptor and descriptor.info.model_id,
                                                  view=view)
            np.savez(cache, genuine=genuine, impostor=impostor)
        with np.load(cache) as data:
            out[kind] = (data["genuine"], data["impostor"])
    return out


def calibrate(scores: list[dict], into: Path,
              fixed: dict[str, tuple[float, ...]] | None = None) -> dict:
    """Fit the calibrations ``scores`` hold (motion ``camera`` and ``avatar``, ``appearance``)
    and write them into the model folder ``into`` (``embedder.json``, ``face_descriptor.json``);
    a calibration not fitted here stays as it was. A motion model of several branches first gets
    each view's branch mix, fitted on the same scores unless ``fixed`` gives it."""
    pooled = {k: tuple(np.concatenate([s[k][c] for s in scores]) for c in (0, 1))
              for k in scores[0]}
    mixes = {k: (fixed or {}).get(k) or fit_mix(*pooled[k]) for k in ("camera", "avatar")
             if k in pooled and pooled[k][0].ndim == 2 and pooled[k][0].shape[1] > 1}
    fitted = {k: fit_calibration(*(p @ np.asarray(mixes[k]) if k in mixes else p for p in v))
              for k, v in pooled.items()}
    meta_path = into / "embedder.json"
    meta = json.loads(meta_path.read_text())
    meta.pop("threshold", None)
    meta["calibration"] = {**meta.get("calibration", {}),
                           **{v: fitted[v].to_dict() for v in ("camera", "avatar") if v in fitted}}
    if mixes:
        meta["mix"] = {**meta.get("mix", {}), **mixes}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    if "appearance" in fitted:
        card_path = into / MODEL_FILE
        card = json.loads((card_path if card_path.is_file() else model_dir() / MODEL_FILE)
                          .read_text())
        card["calibration"] = fitted["appearance"].to_dict()
        card_path.write_text(json.dumps(card, indent=2) + "\n")
    return {**{k: v.to_dict() for k, v in fitted.items()},
            **{f"{k}_mix": list(m) for k, m in mixes.items()}}


def pooled_pairs(runs: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The folds' cross-recording genuine scores, every impostor score, and their people
    (one per genuine score, two per impostor score), from ``eval`` results with pairs."""
    gen = [(s, i) for r in runs for s, i, x in zip(
        r["pairs"]["genuine"]["score"], r["pairs"]["genuine"]["identity"],
        r["pairs"]["genuine"]["cross_recording"], strict=True) if x]
    imp = [(s, ids) for r in runs for s, ids in zip(
        r["pairs"]["impostor"]["score"], r["pairs"]["impostor"]["identities"], strict=True)]
    return (np.array([s for s, _ in gen]), np.array([s for s, _ in imp]),
            np.array([i for _, i in gen]), np.array([ids for _, ids in imp]))


def summarize(runs: list[dict]) -> dict:
    """One variant over the folds: the mean (min-max) of the folds, and the folds' pairs pooled
    (cross-recording genuine pairs against every impostor pair) with a 95% interval that
    resamples people, and the takeover streams pooled."""
    out = {key: {"mean": float(np.mean(vals)), "min": float(np.min(vals)),
                 "max": float(np.max(vals)), "folds": vals}
           for key in ("auc", "eer", "tpr_at_fpr_1pct") for vals in [[r[key] for r in runs]]}
    out["cross_recording_folds"] = [r["cross_recording"] for r in runs]
    out["n_genuine"] = [r["n_genuine"] for r in runs]
    if all("pairs" in r for r in runs):
        g, i_, gi, ii = pooled_pairs(runs)
        pooled = summary(g, i_)
        out["pooled_cross_recording"] = {
            "auc": pooled["auc"], "eer": pooled["eer"], "auc_95": bootstrap_auc(g, i_, gi, ii),
            "tpr_at_fpr_1pct": pooled["tpr_at_fpr_1pct"], "n_genuine": len(g),
            "n_impostor": len(i_), "people_in_genuine_pairs": len(set(gi))}
    takeovers = [r["takeover"] for r in runs if "takeover" in r]
    if takeovers:
        delays = [d for t in takeovers for d in t.get("delays_s", [])]
        minutes = sum(t["genuine_minutes"] for t in takeovers)
        false = sum(t["false_mismatches"] for t in takeovers)
        out["takeover"] = {
            "folds": takeovers, "streams": sum(t["streams"] for t in takeovers),
            "missed": sum(t["missed"] for t in takeovers), "false_mismatches": false,
            "genuine_minutes": minutes, "false_mismatch_per_min": false / max(minutes, 1e-9),
            "median_time_to_mismatch_s": float(np.median(delays)) if delays else None,
            "p90_time_to_mismatch_s": float(np.percentile(delays, 90)) if delays else None}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", default=str(DATA))
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--ship", default=None,
                    help="write the calibrations fitted on all folds' held-out scores into this "
                    "model folder (trained on every identity first if it holds no model)")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS),
                    help="eval runs to do (default: all)")
    ap.add_argument("--calibrate", nargs="*", default=["camera", "avatar", "appearance"],
                    help="calibrations to fit (default: all)")
    ap.add_argument("--rerun", action="store_true",
                    help="run the evals again even where their results exist")
    ap.add_argument("--mix", nargs="*", default=[], metavar="VIEW=W,W",
                    help="a view's branch weights, fixed instead of fitted, e.g. avatar=1,0")
    ap.add_argument("--train-args", default="",
                    help="more arguments for `fingerprint-live train`, e.g. '--vary --velocity' "
                    "(a single flag needs '=': --train-args=--vary)")
    ap.add_argument("--no-view-center", action="store_true",
                    help="no centre of its own for the avatar view (the model's centre for "
                    "every view, as before 2026-12-04)")
    ap.add_argument("--no-takeover", action="store_true",
                    help="pairs only (no calibration needed): for quick comparisons")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    corrections = json.loads(CORRECTIONS.read_text())
    clips = corrected(read_manifest(args.manifest), corrections)
    fold_ids = folds(clips, args.folds, args.seed)
    fold_dirs = []
    for k, test_ids in enumerate(fold_ids):
        fold = out / f"fold{k}"
        fold.mkdir(exist_ok=True)
        fold_dirs.append(fold)
        write_manifest([c for c in clips if c.identity not in test_ids], fold / "train.csv")
        write_manifest([c for c in clips if c.identity in test_ids], fold / "test.csv")
        if not (fold / "model" / "embedder.onnx").is_file():
            cli(["train", "--manifest", str(fold / "train.csv"), "-o", str(fold / "model"),
                 "--steps", str(args.steps), "--seed", str(args.seed), "--quiet",
                 *shlex.split(args.train_args)])
        if not (fold / "model" / MODEL_FILE).is_file():
            shutil.copy(model_dir() / MODEL_FILE, fold / "model" / MODEL_FILE)
        if not args.no_view_center and not has_view_center(fold / "model"):
            fit_view_center(fold / "model", read_manifest(fold / "train.csv"))
    scores = [held_out_scores(f, args.calibrate) for f in fold_dirs]
    fixed = {view: tuple(float(w) for w in weights.split(","))
             for view, weights in (m.split("=") for m in args.mix)}
    calibrations = {f.name: calibrate([s for j, s in enumerate(scores) if j != k],
                                      f / "model", fixed)
                    for k, f in enumerate(fold_dirs)} if args.calibrate else {}
    for fold in fold_dirs:
        for name in args.variants:
            path = fold / f"eval_{name}.json"
            if args.rerun or not path.is_file():
                takeover = [] if args.no_takeover else ["--takeover"]
                cli(["eval", "--manifest", str(fold / "test.csv"), "-o", str(path), "--model",
                     str(fold / "model"), *takeover, "--quiet", *VARIANTS[name]])
    report = {"folds": args.folds, "steps": args.steps, "seed": args.seed,
               "corrections": corrections, "calibrations": calibrations,
               "genuine_observations": {k: [int(len(s[k][0])) for s in scores]
                                        for k in args.calibrate},
               **{name: summarize([json.loads((f / f"eval_{name}.json").read_text())
                                   for f in fold_dirs]) for name in args.variants}}
    (out / "cv_summary.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k in args.variants}, indent=1))
    if args.ship and args.calibrate:
        ship = Path(args.ship)
        if not (ship / "embedder.onnx").is_file():
            manifest = out / "all.csv"
            write_manifest(clips, manifest)
            cli(["train", "--manifest", str(manifest), "-o", str(ship), "--steps",
                 str(args.steps), "--seed", str(args.seed), *shlex.split(args.train_args)])
        if not args.no_view_center and not has_view_center(ship):
            fit_view_center(ship, clips)
        print("shipped calibrations:", json.dumps(calibrate(scores, ship, fixed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
