"""One-dimensional convolution graphs rewritten as two-dimensional ones of height 1.

ONNX Runtime's CPU provider runs 1-D ``Conv`` and ``MaxPool`` through generic im2col kernels;
the same operators in 2-D with height 1 go to its blocked NCHWc kernels (``NchwcTransformer``),
which run the shipped detectors about 3-4× faster on the same core, with the same results to
float32 rounding (max |diff| ~1e-6). :func:`as_conv2d` does that rewrite on a serialised model:

* the input ``(batch, channels, window)`` is unsqueezed to ``(batch, channels, 1, window)``
  and every graph output squeezed back, so the model's interface is unchanged;
* ``Conv``/``MaxPool``/``AveragePool`` get a leading kernel/stride/dilation of 1 and no
  padding in height; conv weights ``(out, in, k)`` become ``(out, in, 1, k)``;
* a ``Pad`` of the signal (padding computed from constants, as torch exports it) gets its
  pads evaluated and widened to 4-D; ``Concat`` along time moves to axis 3;
* per-channel ops (``BatchNormalization``), activations and elementwise ops between
  activations stay as they are;
* two fusions ONNX Runtime does not do itself: zero padding of the signal that only a conv
  reads becomes that conv's padding, and a batch norm after a ``Concat`` of convolutions (an
  inception module) is folded into their weights and biases.

Any other operator on the signal path (reshapes, reductions, attention…) makes the rewrite
decline: :func:`as_conv2d` returns None and the model runs as it is. The rewritten model
carries ``LAYOUT_KEY = LAYOUT_CONV2D`` in its metadata, which
:class:`~aemon.detect.onnx_runtime.OnnxDetector` reads to skip the rewrite. ``onnx`` is only
imported when a rewrite is attempted (it is in the ``train`` extra).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

LAYOUT_KEY = "aemon.layout"
"""Model metadata key naming the convolution layout."""
LAYOUT_CONV2D = "conv2d-h1"
"""The value for a graph already rewritten by :func:`as_conv2d`."""

_SPATIAL = ("kernel_shape", "strides", "dilations")
_POOLS = ("MaxPool", "AveragePool")
_UNARY = frozenset(
    {
        "Sigmoid", "Tanh", "Softplus", "Relu", "LeakyRelu", "Elu", "Selu", "Gelu",
        "HardSigmoid", "HardSwish", "Exp", "Log", "Sqrt", "Abs", "Neg", "Erf", "Identity", "Clip",
    }
)  # fmt: skip
_BINARY = frozenset(("Add", "Sub", "Mul", "Div"))


class _DeclinedError(Exception):
    """The graph holds something the rewrite does not handle."""


def as_conv2d(model: bytes) -> bytes | None:
    """The model with its 1-D convolutions and pools as 2-D ones of height 1.

    Args:
        model: A serialised ONNX model taking one ``(batch, channels, window)`` input.

    Returns:
        The rewritten serialised model, or None when it is already rewritten, has no 1-D
        convolution, or holds an operator the rewrite does not handle.
    """
    import onnx

    proto = onnx.load_from_string(model)
    if any(p.key == LAYOUT_KEY for p in proto.metadata_props):
        return None
    try:
        _rewrite(proto)
    except _DeclinedError as why:
        logger.debug("model kept in 1-D: %s", why)
        return None
    entry = proto.metadata_props.add()
    entry.key, entry.value = LAYOUT_KEY, LAYOUT_CONV2D
    onnx.checker.check_model(proto)
    return bytes(proto.SerializeToString())


def _rewrite(proto: Any) -> None:
    from onnx import helper, numpy_helper

    graph = proto.graph
    if len(graph.input) != 1 or not all(_rank(v) == 3 for v in (*graph.input, *graph.output)):
        raise _DeclinedError("not one (batch, channels, window) input and 3-D outputs")
    signal = graph.input[0].name
    inits = {i.name: i for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    active = {signal}  # tensors that depend on the input
    for node in graph.node:
        if any(x in active for x in node.input):
            active.update(node.output)

    def constant(name: str) -> np.ndarray:
        while name not in inits and producer.get(name) is not None:
            node = producer[name]
            if node.op_type != "Identity":
                return _evaluate(proto, name)
            name = node.input[0]
        if name not in inits:
            raise _DeclinedError(f"constant {name!r} not found")
        return numpy_helper.to_array(inits[name])

    new_inits: list[Any] = []
    convs = 0
    for node in graph.node:
        if not any(x in active for x in node.input):
            continue
        op = node.op_type
        if op == "Conv" or op in _POOLS:
            if node.input[0] not in active or len(node.output) != 1:
                raise _DeclinedError(f"{op} {node.name} not on the signal")
            _widen_attributes(node)
            if op == "Conv":
                weight = constant(node.input[1])
                if weight.ndim != 3:
                    raise _DeclinedError(f"conv {node.name} has {weight.ndim}-D weights")
                name = f"{node.input[1]}.conv2d.{convs}"
                new_inits.append(numpy_helper.from_array(weight[:, :, None, :].copy(), name))
                node.input[1] = name
                convs += 1
        elif op == "Pad":
            if node.input[0] not in active or any(x in active for x in node.input[1:]):
                raise _DeclinedError("Pad of computed amounts")
            if len(node.input) > 3 and node.input[3]:
                raise _DeclinedError("Pad with axes")
            pads = constant(node.input[1]).astype(np.int64).reshape(2, 3)
            name = f"{node.output[0]}.pads4d"
            new_inits.append(numpy_helper.from_array(np.insert(pads, 2, 0, axis=1).ravel(), name))
            node.input[1] = name
        elif op == "Concat":
            axis = next((a for a in node.attribute if a.name == "axis"), None)
            if axis is None:
                raise _DeclinedError("Concat without axis")
            axis.i = axis.i % 3
            if axis.i == 2:
                axis.i = 3
        elif op == "BatchNormalization":
            if node.input[0] not in active or any(x in active for x in node.input[1:]):
                raise _DeclinedError("BatchNormalization with computed statistics")
        elif op in _BINARY:
            for x in node.input:
                if x not in active and constant(x).size != 1:
                    raise _DeclinedError(f"{op} {node.name} broadcasts a constant over channels")
        elif op not in _UNARY or any(x not in active for x in node.input[:1]):
            raise _DeclinedError(f"operator {op} on the signal path")
        elif op == "Clip" and any(x in active for x in node.input[1:]):
            raise _DeclinedError("Clip with computed bounds")
    if not convs:
        raise _DeclinedError("no 1-D convolution")

    axes = "aemon.axis2"
    graph.initializer.append(numpy_helper.from_array(np.array([2], np.int64), axes))
    graph.initializer.extend(new_inits)
    wide = f"{signal}.conv2d"
    for node in graph.node:
        node.input[:] = [wide if x == signal else x for x in node.input]
    head = [helper.make_node("Unsqueeze", [signal, axes], [wide], name="aemon.unsqueeze")]
    tail = []
    for out in graph.output:
        inner = f"{out.name}.conv2d"
        for node in graph.node:
            node.output[:] = [inner if x == out.name else x for x in node.output]
        tail.append(helper.make_node("Squeeze", [inner, axes], [out.name], name=f"{inner}.sq"))
    nodes = [*head, *graph.node, *tail]
    _fold_pads(nodes, {i.name: i for i in graph.initializer})
    graph.initializer.extend(_fold_batch_norms(nodes, {i.name: i for i in graph.initializer}))
    del graph.node[:]
    graph.node.extend(_reachable(nodes, {o.name for o in graph.output}))
    used = {x for node in graph.node for x in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.value_info[:]  # shapes of the rewritten tensors changed; ORT infers them


def _fold_pads(nodes: list[Any], inits: dict[str, Any]) -> None:
    """Zero padding of the time axis that only a ``Conv`` reads becomes that conv's padding
    (ONNX Runtime does not fuse it: a whole extra copy of the signal per window)."""
    from onnx import helper, numpy_helper

    readers: dict[str, list[Any]] = {}
    for node in nodes:
        for x in node.input:
            readers.setdefault(x, []).append(node)
    for pad in [n for n in nodes if n.op_type == "Pad"]:
        mode = next((a.s for a in pad.attribute if a.name == "mode"), b"constant")
        (conv, *others) = readers.get(pad.output[0], [None])
        if mode != b"constant" or others or conv is None or conv.op_type != "Conv":
            continue
        if len(pad.input) > 2 and pad.input[2]:  # a constant value: only zero folds
            value = inits.get(pad.input[2])
            if value is None or numpy_helper.to_array(value).any():
                continue
        amounts = numpy_helper.to_array(inits[pad.input[1]]).reshape(2, 4)  # begin/end × NCHW
        if amounts[:, :3].any() or any(a.name == "auto_pad" for a in conv.attribute):
            continue
        extra = [0, int(amounts[0, 3]), 0, int(amounts[1, 3])]  # conv pads: hb, wb, he, we
        conv_pads = next((a for a in conv.attribute if a.name == "pads"), None)
        if conv_pads is None:
            conv.attribute.append(helper.make_attribute("pads", extra))
        else:
            conv_pads.ints[:] = [v + e for v, e in zip(conv_pads.ints, extra, strict=True)]
        conv.input[0] = pad.input[0]


def _fold_batch_norms(nodes: list[Any], inits: dict[str, Any]) -> list[Any]:
    """A ``BatchNormalization`` of a ``Concat`` of convolutions (an inception module) becomes
    a scale and shift of those convolutions' weights and biases; returns the new tensors.

    ONNX Runtime fuses a batch norm into the conv right before it, not across a concat.
    """
    from onnx import numpy_helper

    producer = {out: node for node in nodes for out in node.output}
    readers: dict[str, int] = {}
    for node in nodes:
        for x in node.input:
            readers[x] = readers.get(x, 0) + 1
    added: list[Any] = []
    for norm in [n for n in nodes if n.op_type == "BatchNormalization"]:
        cat = producer.get(norm.input[0])
        if cat is None or cat.op_type != "Concat" or readers.get(cat.output[0]) != 1:
            continue
        convs = [producer[x] for x in cat.input if x in producer]
        if len(convs) != len(cat.input) or not all(x in inits for x in norm.input[1:5]):
            continue
        if not all(c.op_type == "Conv" and readers.get(c.output[0]) == 1 for c in convs):
            continue
        if not all(_constant_weights(c, inits) for c in convs):
            continue
        scale, bias, mean, var = (numpy_helper.to_array(inits[x]) for x in norm.input[1:5])
        eps = next((a.f for a in norm.attribute if a.name == "epsilon"), 1e-5)
        gain = scale / np.sqrt(var + eps)
        shift = bias - mean * gain
        first = 0
        for conv in convs:
            weight = numpy_helper.to_array(inits[conv.input[1]])
            has_bias = len(conv.input) > 2 and conv.input[2]
            old = numpy_helper.to_array(inits[conv.input[2]]) if has_bias else 0.0
            part = slice(first, first + weight.shape[0])
            first += weight.shape[0]
            w = (weight * gain[part].reshape(-1, *[1] * (weight.ndim - 1))).astype(np.float32)
            b = (old * gain[part] + shift[part]).astype(np.float32)
            names = (f"{conv.output[0]}.bn_w", f"{conv.output[0]}.bn_b")
            added += [numpy_helper.from_array(w, names[0]), numpy_helper.from_array(b, names[1])]
            conv.input[1:] = list(names)
        if first != gain.shape[0]:
            raise _DeclinedError(f"batch norm {norm.name} does not match its convolutions")
        cat.output[0] = norm.output[0]
        nodes.remove(norm)
    return added


def _constant_weights(conv: Any, inits: dict[str, Any]) -> bool:
    """The conv's weights (and bias, if any) are initializers."""
    bias = conv.input[2] if len(conv.input) > 2 else ""
    return bool(conv.input[1] in inits and (not bias or bias in inits))


def _rank(value: Any) -> int:
    return len(value.type.tensor_type.shape.dim)


def _widen_attributes(node: Any) -> None:
    for attr in node.attribute:
        if attr.name in _SPATIAL:
            attr.ints[:] = [1, *attr.ints]
        elif attr.name == "pads":
            begin, end = list(attr.ints)
            attr.ints[:] = [0, begin, 0, end]


def _reachable(nodes: list[Any], outputs: set[str]) -> list[Any]:
    """The nodes that contribute to ``outputs``, in their order."""
    needed, kept = set(outputs), []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(x for x in node.input if x)
    return kept[::-1]


def _evaluate(proto: Any, name: str) -> np.ndarray:
    """Value of a tensor computed from constants only (e.g. torch's padding amounts)."""
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    graph = proto.graph
    nodes = _reachable(list(graph.node), {name})
    sub = helper.make_model(
        helper.make_graph(
            nodes,
            "constants",
            [],
            [helper.make_empty_tensor_value_info(name)],
            list(graph.initializer),
        ),
        opset_imports=list(proto.opset_import),
    )
    try:
        values: Any = ReferenceEvaluator(sub).run([name], {})
        return np.asarray(values[0])
    except Exception as exc:  # any failure just keeps the model as it is
        raise _DeclinedError(f"cannot evaluate {name!r}: {exc}") from None
