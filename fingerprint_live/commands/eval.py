"""``fingerprint-live eval``: the fixed evaluation protocol over a manifest's clips."""

from __future__ import annotations

import argparse
import json

from ..atomic_write import write_text
from ..decision import Signal
from ..embedder import Embedder
from ..errors import FingerprintError
from ..features import to_head
from ..offline.evaluation import (
    ENROLLED_FROM,
    PRODUCT_ENROLLMENT,
    embed_clips,
    evaluate_pairs,
    evaluate_takeover,
)
from ..offline.manifest import read_manifest
from ..verifier import RECEIVER_SETTINGS, SIGNAL_SETS, VerifierConfig
from . import output_path, report


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "eval",
        help="score every ordered clip pair of a manifest (AUC, EER) and takeover streams",
        description="For every ordered pair of distinct clips (A, B) of kind real or synthetic: "
        "enroll from A alone and score B with the verifier's clip score; genuine when they "
        "share an identity. Trains nothing; identities only label the pairs.",
    )
    p.add_argument("--manifest", required=True, help="CSV with path,identity,kind columns")
    p.add_argument("-o", "--output", required=True,
                   help="write every result here (JSON: auc, eer, tpr_at_fpr_1pct, ...)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--signals", choices=list(SIGNAL_SETS), default="motion",
                   help="what scores a clip: motion (the mean window cosine; the default, the "
                   "protocol's original meaning), appearance (the face descriptor's distance) "
                   "or fused (both, as calibrated log-likelihood ratios)")
    p.add_argument("--takeover", action="store_true",
                   help="also stream a genuine clip followed by another person's clip and "
                   "measure time to MISMATCH and false MISMATCH per minute")
    p.add_argument("--long", action="store_true",
                   help="with --takeover: streams as long as the data allows (every other "
                   "recording of the enrolled person, then every recording of the other "
                   "person), and detection within 10 s and 30 s, for a receiver that can wait")
    p.add_argument("--setting", choices=list(RECEIVER_SETTINGS), default=None,
                   help="with --signals motion: the receiver's decision setting by name "
                   "(default: the quick one)")
    p.add_argument("--same-face", action="store_true",
                   help="move every clip's motion onto one face shape (the default avatar "
                   "portrait's) first, as an avatar shows everyone with one face")
    p.add_argument("--through-avatar", action="store_true",
                   help="probe every clip rendered through the default avatar (one face for "
                   "everyone), its landmarks found again on the rendered frames, as the "
                   "receiver sees it; slow the first time, then cached")
    p.add_argument("--enrolled-from", choices=ENROLLED_FROM, default=None,
                   help="with --through-avatar: what the enrollment is made from: the clip as "
                   "recorded and the same clip rendered through the avatar, the two parts "
                   "`enroll` makes (camera+avatar, the default, as the product runs); the clip "
                   "as recorded alone (camera); or rendered alone (avatar)")
    p.add_argument("--every", type=int, default=1, metavar="N",
                   help="probe with the landmarks of one frame in N only (the enrollment keeps "
                   "every frame), as a receiver that finds landmarks on every N-th frame "
                   "(default: %(default)s)")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def avatar_shape():
    """The default portrait's face shape in head coordinates."""
    from fingerprint_live.avatar.portrait import find_face, load_portrait

    return to_head(find_face(load_portrait()).points[None])[0]


def run(args: argparse.Namespace) -> int:
    output = output_path(args.output, "results")
    uses_face = Signal.APPEARANCE in SIGNAL_SETS[args.signals]
    if uses_face and (args.same_face or args.through_avatar):
        raise FingerprintError("--signals appearance and fused check the driver's own face: "
                               "they cannot be combined with --same-face or --through-avatar.")
    if args.setting is not None and args.signals != "motion":
        raise FingerprintError("--setting names a receiver's setting: it goes with --signals "
                               "motion.")
    if args.enrolled_from is not None and not args.through_avatar:
        raise FingerprintError("--enrolled-from goes with --through-avatar.")
    embedder = Embedder(args.model, threads=2)
    descriptor = None
    if uses_face:
        from ..face_descriptor import FaceDescriptor

        descriptor = FaceDescriptor(args.model)
    clips = read_manifest(args.manifest)
    target = avatar_shape() if args.same_face else None
    view = "avatar" if args.through_avatar else "camera"
    enrolled_from = args.enrolled_from or PRODUCT_ENROLLMENT[view]
    if args.every < 1:
        raise FingerprintError("--every must be 1 or more.")
    scored, skipped = embed_clips(clips, embedder, target, not args.quiet, view, descriptor,
                                  enrolled_from, args.every)
    appearance = descriptor.info if descriptor else None
    result = evaluate_pairs(scored, args.signals, embedder, appearance, view)
    result.update(model=embedder.info.model_id[:16], clips=len(scored), skipped=skipped,
                  signals=args.signals, same_face=args.same_face,
                  through_avatar=args.through_avatar, enrolled_from=enrolled_from,
                  every=args.every)
    if args.takeover:
        config = VerifierConfig(signals=SIGNAL_SETS[args.signals], view=view,
                                setting=args.setting)
        result["takeover"] = evaluate_takeover(scored, embedder, target, config, appearance,
                                               progress=not args.quiet, long=args.long)
    write_text(output, json.dumps(result, indent=2) + "\n")
    summary = {k: result[k] for k in ("auc", "eer", "tpr_at_fpr_1pct", "n_genuine",
                                      "n_impostor")}
    report(summary, args.json,
           f"{result['clips']} clips, {summary['n_genuine']} genuine and "
           f"{summary['n_impostor']} impostor pairs ({args.signals}): "
           f"AUC {_num(summary['auc'])}, EER {_num(summary['eer'])}, "
           f"TPR at 1% FPR {_num(summary['tpr_at_fpr_1pct'])}; every figure in {args.output}")
    return 0


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
