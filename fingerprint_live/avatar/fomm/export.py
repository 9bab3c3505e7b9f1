"""Export the FOMM keypoint detector, source encoder and relative animator to ONNX.

Run once per checkpoint; inference then needs only onnxruntime:

    python -m fingerprint_live.avatar.fomm.export vox-cpk.pth.tar   # vox-cpk.*.onnx beside it

Four files: the keypoint detector; the source encoder, run once per portrait; the animator, run
once per frame, in float32 and in half precision for CUDA.
"""

from __future__ import annotations

import argparse
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from .checkpoint import load_checkpoint
from .config import VOX_CPK_BYTES, OnnxGraphs, onnx_paths
from .generator import OcclusionAwareGenerator
from .keypoint_detector import Keypoints, KPDetector
from .motion import RelativeAnimator, SourceEncoder

#: The torch.export-based exporter writes opset 18 and up; grid_sample is standard since 16.
OPSET = 18
#: Kept in float32 in the half-precision animator: onnxruntime's CUDA kernel is float32 only.
FP32_OPS = ["GridSample"]


def export_onnx(kp_detector: KPDetector, generator: OcclusionAwareGenerator, graphs: OnnxGraphs,
                size: int = 256, relative_jacobian: bool = True) -> None:
    """Export the three modules (fp32, batch 1, ``size`` x ``size``), and the animator in fp16.

    Each file appears only once complete, so an interrupted export is never taken for a finished
    one (the engine reuses files it finds).
    """
    kp_detector, generator = kp_detector.float().eval(), generator.float().eval()
    image = torch.rand(1, 3, size, size)
    with torch.no_grad():
        kp = kp_detector(image)
        encoded = generator.encode(image)
    export_graph(kp_detector, (image,), graphs.kp_detector, ["image"], list(Keypoints._fields))
    export_graph(SourceEncoder(generator).eval(), (image,), graphs.source_encoder, ["source"],
                 list(SourceEncoder.output_names))
    # Distinct tensors: torch.export reads one tensor passed for two inputs as a single input.
    inputs = (*encoded, *kp, *(t.clone() for t in kp), *(t.clone() for t in kp), torch.ones(1))
    export_graph(RelativeAnimator(generator, relative_jacobian).eval(), inputs, graphs.animator,
                 list(RelativeAnimator.input_names), ["prediction"])
    _half_precision(graphs.animator, graphs.animator_fp16)


def export_graph(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], path: Path,
                 input_names: list[str], output_names: list[str]) -> None:
    """One module to one ONNX file with the torch.export-based exporter (needs onnxscript),
    written under another name and renamed once complete; a graph that ignores one of its
    inputs is refused."""
    partial = Path(f"{path}.partial")
    with _exporter_notices_off():
        program = torch.onnx.export(module, inputs, str(partial), input_names=input_names,
                                    output_names=output_names, opset_version=OPSET, dynamo=True,
                                    external_data=False, verbose=False)
    unread = [v.name for v in program.model.graph.inputs if not v.uses()]
    if unread:
        partial.unlink()
        raise RuntimeError(f"exporting {path.name}: the graph ignores its inputs {unread}")
    partial.replace(path)


def _half_precision(source: Path, path: Path) -> None:
    """``source`` in float16 inside, with float32 inputs and outputs (casts at the edges)."""
    import onnx
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True,
                                     op_block_list=DEFAULT_OP_BLOCK_LIST + FP32_OPS)
    partial = Path(f"{path}.partial")
    onnx.save(model, str(partial))
    partial.replace(path)


@contextmanager
def _exporter_notices_off() -> Iterator[None]:
    """Silence what the exporter says about itself, which no caller can act on: that
    torchvision's operators are skipped (it is not needed) and torch's own internal
    deprecations."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*LeafSpec", FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="vox-cpk.pth.tar")
    parser.add_argument("--out-dir", type=Path, help="default: next to the checkpoint")
    parser.add_argument("--any-size", action="store_true",
                        help=f"accept a checkpoint other than the {VOX_CPK_BYTES:,}-byte original")
    args = parser.parse_args(argv)
    kp_detector, generator = load_checkpoint(
        args.checkpoint, expected_size=None if args.any_size else VOX_CPK_BYTES)
    graphs = onnx_paths(args.checkpoint, args.out_dir)
    export_onnx(kp_detector, generator, graphs)
    print("wrote " + ", ".join(str(p) for p in graphs))


if __name__ == "__main__":
    main()
