"""Several exported embedders side by side in one ONNX graph: one model of several branches.

Each branch is a network trained on its own feature space (``FeatureSet.branches``). The joined
graph takes the windows of the combined feature set, gives each branch the channels it was
trained on, and concatenates their unit embeddings, so the runtime runs one session per window.
"""

from __future__ import annotations

import numpy as np


def join_branches(blobs: list[bytes], channels: list[np.ndarray], total: int) -> bytes:
    """One ONNX model from branch models ``blobs`` (input ``windows (B, T, C_b)``, output
    ``embeddings (B, D)``) reading ``channels[b]`` of windows with ``total`` channels."""
    import onnx
    from onnx import TensorProto, compose, helper, numpy_helper

    nodes, initializers, outputs, dims = [], [], [], []
    models = [onnx.load_from_string(blob) for blob in blobs]
    for b, (model, picks) in enumerate(zip(models, channels, strict=True)):
        graph = compose.add_prefix(model, f"b{b}/").graph
        (branch_in,), (branch_out,) = graph.input, graph.output
        wanted = branch_in.type.tensor_type.shape.dim[2].dim_value
        if wanted != len(picks):
            raise ValueError(f"branch {b} reads {wanted} channels, not {len(picks)}")
        index = numpy_helper.from_array(np.asarray(picks, np.int64), f"b{b}/channels")
        nodes.append(helper.make_node("Gather", ["windows", index.name], [branch_in.name],
                                      axis=2))
        nodes.extend(graph.node)
        initializers.extend([index, *graph.initializer])
        outputs.append(branch_out.name)
        dims.append(_output_size(blobs[b], model))
    nodes.append(helper.make_node("Concat", outputs, ["embeddings"], axis=1))
    window = models[0].graph.input[0].type.tensor_type.shape.dim[1].dim_value
    graph = helper.make_graph(
        nodes, "branches",
        [helper.make_tensor_value_info("windows", TensorProto.FLOAT, ["batch", window, total])],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", sum(dims)])],
        initializers)
    joined = helper.make_model(graph, opset_imports=models[0].opset_import,
                               ir_version=models[0].ir_version)
    onnx.checker.check_model(joined)
    return joined.SerializeToString()


def _output_size(blob: bytes, model) -> int:
    """Numbers per embedding, from one run (the exported output size may be symbolic)."""
    import onnxruntime as ort

    shape = [d.dim_value or 1 for d in model.graph.input[0].type.tensor_type.shape.dim]
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {model.graph.input[0].name: np.zeros(shape, np.float32)})
    return int(out.shape[1])
