"""Tiny ONNX models built with the `onnx` helpers, one per user-supplied add-on model, so the
real loading, pre- and post-processing code runs on a real onnxruntime session.

Each model is a few operators whose output is easy to predict:
- matting: foreground = mean brightness of each pixel (bright subject, dark background);
- classifier: three logits = the mean of each RGB channel, labels red/green/blue;
- upscale: nearest-neighbour ×2;
- detector: one fixed box labelled "dog".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 13)]
IR_VERSION = 8  # what every onnxruntime of the last years reads


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=OPSET, ir_version=IR_VERSION)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def matting(path: Path, side: int = 32) -> Path:
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, side, side])
    mask = helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, side, side])
    node = helper.make_node("ReduceMean", ["image"], ["mask"], axes=[1], keepdims=1)
    return _save(helper.make_graph([node], "matting", [image], [mask]), path)


def classifier(path: Path, side: int = 8) -> Path:
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, side, side])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])
    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["logits"], axis=1),
    ]
    _save(helper.make_graph(nodes, "classifier", [image], [logits]), path)
    path.with_suffix(".labels.txt").write_text("red\ngreen\nblue\n")
    return path


def upscale(path: Path) -> Path:
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "height", "width"])
    bigger = helper.make_tensor_value_info("bigger", TensorProto.FLOAT, [1, 3, "height2", "width2"])
    roi = numpy_helper.from_array(np.array([], dtype=np.float32), "roi")
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], dtype=np.float32), "scales")
    node = helper.make_node("Resize", ["image", "roi", "scales"], ["bigger"], mode="nearest")
    return _save(helper.make_graph([node], "upscale", [image], [bigger], initializer=[roi, scales]), path)


def detector(path: Path, side: int = 64) -> Path:
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, side, side])
    outputs = [
        helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 4]),
        helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1]),
        helper.make_tensor_value_info("labels", TensorProto.INT64, [1]),
    ]
    constants = {
        "boxes": np.array([[8, 8, 40, 40]], dtype=np.float32),
        "scores": np.array([0.9], dtype=np.float32),
        "labels": np.array([0], dtype=np.int64),
    }
    # The boxes do not depend on the pixels; a Shape node keeps the input part of the graph.
    nodes = [helper.make_node("Shape", ["image"], ["image_shape"])]
    nodes += [helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, f"{name}_value")) for name, value in constants.items()]
    graph = helper.make_graph(nodes, "detector", [image], outputs)
    _save(graph, path)
    path.with_suffix(".labels.txt").write_text("dog\n")
    return path


def all_models(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    matting(folder / "matting.onnx")
    classifier(folder / "classifier.onnx")
    upscale(folder / "upscale.onnx")
    detector(folder / "detector.onnx")
    return folder
