#!/bin/sh
# Regenerates the fixtures of the CLI tests in tests/data/cli/. Not a test:
# the outputs are committed so that the tests need no Python. Needs Debian's
# python3-onnx and python3-numpy (under /usr/bin/python3).
#
# usage: tests/cli/gen_fixtures.sh --write [SOURCE_DIR]
# Without --write (e.g. run by a tests/cli/*.sh glob) it does nothing and
# exits 77, the "skipped" status of ctest.
set -eu
if [ "${1:-}" != "--write" ]; then
    echo "gen_fixtures.sh: regenerates tests/data/cli/ with --write; not a test"
    exit 77
fi
shift
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
out="$src/tests/data/cli"
mkdir -p "$out"
exec /usr/bin/python3 - "$out" <<'EOF'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(20240601)

def q(a):
    # Multiples of 1/16: exact in float32, float64 and the conversions between.
    return (np.round(a * 16) / 16).astype(np.float32)

# tiny_cnn: Conv(4x1x3x3, pad 1) -> Relu -> MaxPool 2x2 -> Flatten -> Gemm(64->10) -> Softmax
w1, b1 = q(rng.normal(0, 0.5, (4, 1, 3, 3))), q(rng.normal(0, 0.1, 4))
w2, b2 = q(rng.normal(0, 0.25, (10, 64))), q(rng.normal(0, 0.1, 10))
nodes = [
    helper.make_node("Conv", ["input", "w1", "b1"], ["conv1"], name="conv1", pads=[1, 1, 1, 1],
                     kernel_shape=[3, 3]),
    helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
    helper.make_node("MaxPool", ["relu1"], ["pool1"], name="pool1", kernel_shape=[2, 2],
                     strides=[2, 2]),
    helper.make_node("Flatten", ["pool1"], ["flat"], name="flatten", axis=1),
    helper.make_node("Gemm", ["flat", "w2", "b2"], ["logits"], name="fc", transB=1),
    helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1),
]
graph = helper.make_graph(
    nodes, "tiny_cnn",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])],
    [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
     numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(b2, "b2")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="libsieve tests/cli/gen_fixtures.sh")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, f"{out}/tiny_cnn.onnx")

x = q(rng.uniform(0, 1, (1, 1, 8, 8)))
np.save(f"{out}/tiny_cnn_input.npy", x)
np.save(f"{out}/tiny_cnn_input_f64.npy", x.astype(np.float64))
with open(f"{out}/tiny_cnn_input.pb", "wb") as f:
    f.write(numpy_helper.from_array(x, "input").SerializeToString())

# Oracle: the forward pass in float64 numpy, written out loop by loop.
xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
conv = np.zeros((1, 4, 8, 8))
for m in range(4):
    for i in range(8):
        for j in range(8):
            conv[0, m, i, j] = np.sum(xp[0, :, i:i + 3, j:j + 3] * w1[m]) + b1[m]
relu = np.maximum(conv, 0)
pool = relu.reshape(1, 4, 4, 2, 4, 2).max(axis=(3, 5))
logits = pool.reshape(1, 64) @ w2.T.astype(np.float64) + b2
e = np.exp(logits - logits.max(axis=1, keepdims=True))
np.save(f"{out}/tiny_cnn_expected.npy", (e / e.sum(axis=1, keepdims=True)).astype(np.float32))

# add_two: two inputs, an output name that is not a file name.
graph = helper.make_graph(
    [helper.make_node("Add", ["a", "b"], ["sum/out:0"], name="add")], "add_two",
    [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3]),
     helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 3])],
    [helper.make_tensor_value_info("sum/out:0", TensorProto.FLOAT, [2, 3])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="libsieve tests/cli/gen_fixtures.sh")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, f"{out}/add_two.onnx")
np.save(f"{out}/add_a.npy", np.array([[1, -2, 3], [40, 50, -60]], dtype=np.int32))
np.save(f"{out}/add_b.npy", np.array([[0, 1, 2], [253, 254, 255]], dtype=np.uint8))
EOF
