"""Export the FOMM keypoint detector and the relative animator (generator) to ONNX.

Run once per checkpoint; inference then needs only onnxruntime:

    python -m avatar.fomm.export vox-cpk.pth.tar   # vox-cpk.{kp_detector,generator}.onnx beside it
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import torch

from .checkpoint import load_checkpoint
from .config import VOX_CPK_BYTES, onnx_paths
from .generator import OcclusionAwareGenerator
from .keypoint_detector import KPDetector
from .motion import RelativeAnimator

#: grid_sample became a standard operator in opset 16.
OPSET = 17


def export_onnx(kp_detector: KPDetector, generator: OcclusionAwareGenerator, kp_path: Path,
                generator_path: Path, size: int = 256, relative_jacobian: bool = True) -> None:
    """Trace both modules (fp32, batch 1, ``size`` x ``size``) into ONNX files.

    Each file appears only once complete, so an interrupted export is never taken for a finished
    one (the engine reuses files it finds).
    """
    kp_detector, generator = kp_detector.float().eval(), generator.float().eval()
    image = torch.rand(1, 3, size, size)
    with torch.no_grad(), warnings.catch_warnings():
        # The graphs are for one fixed size, so the tracer freezing shape checks is intended.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        kp = kp_detector(image)
        _export(kp_detector, (image,), kp_path, ["image"], ["value", "jacobian"])
        animator = RelativeAnimator(generator, relative_jacobian).eval()
        inputs = (image, kp.value, kp.jacobian, kp.value, kp.jacobian, kp.value, kp.jacobian,
                  torch.ones(1))
        _export(animator, inputs, generator_path, list(RelativeAnimator.input_names),
                ["prediction"])


def _export(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], path: Path,
            input_names: list[str], output_names: list[str]) -> None:
    """TorchScript-based export (the dynamo exporter needs onnxscript), then an atomic rename."""
    partial = Path(f"{path}.partial")
    torch.onnx.export(module, inputs, str(partial), input_names=input_names,
                      output_names=output_names, opset_version=OPSET, dynamo=False)
    partial.replace(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="vox-cpk.pth.tar")
    parser.add_argument("--out-dir", type=Path, help="default: next to the checkpoint")
    parser.add_argument("--any-size", action="store_true",
                        help=f"accept a checkpoint other than the {VOX_CPK_BYTES:,}-byte original")
    args = parser.parse_args(argv)
    kp_detector, generator = load_checkpoint(
        args.checkpoint, expected_size=None if args.any_size else VOX_CPK_BYTES)
    kp_path, generator_path = onnx_paths(args.checkpoint, args.out_dir)
    export_onnx(kp_detector, generator, kp_path, generator_path)
    print(f"wrote {kp_path} and {generator_path}")


if __name__ == "__main__":
    main()
