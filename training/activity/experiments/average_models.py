"""Averages the probabilities of several activity models (ONNX files with `features` in and
`label`, `probabilities` out, as train.py exports them) into one such model, and checks it
against the members' mean with onnxruntime. Stop 47 used it to average the shipped model with
one trained on shorter final turns (README.md, "Short final turns with the shipped recipe").

  ../.venv-activity/bin/python experiments/average_models.py OUT.onnx A.onnx B.onnx [...]
"""
import sys, onnx, numpy as np
from onnx import helper, numpy_helper, TensorProto
out = sys.argv[1]; ins = sys.argv[2:]
nodes, inits = [], []
probs = []
for k, path in enumerate(ins):
    m = onnx.load(path); g = m.graph
    ren = lambda s: s if s == 'features' else f"e{k}_{s}"
    for n in g.node:
        if n.output[0] in ('label',) : continue
        nn = helper.make_node(n.op_type, [ren(i) for i in n.input], [ren(o) for o in n.output], name=ren(n.name) if n.name else '')
        nn.attribute.extend(n.attribute); nodes.append(nn)
    for t in g.initializer:
        t2 = onnx.TensorProto(); t2.CopyFrom(t); t2.name = ren(t.name); inits.append(t2)
    probs.append(ren('probabilities'))
acc = probs[0]
for i, p in enumerate(probs[1:]):
    nodes.append(helper.make_node('Add', [acc, p], [f'esum{i}'])); acc = f'esum{i}'
inits.append(numpy_helper.from_array(np.array(1.0 / len(probs), np.float32), 'eweight'))
nodes.append(helper.make_node('Mul', [acc, 'eweight'], ['probabilities']))
nodes.append(helper.make_node('ArgMax', ['probabilities'], ['label'], axis=1, keepdims=0))
base = onnx.load(ins[0])
g = helper.make_graph(nodes, 'activity', list(base.graph.input), list(base.graph.output), inits)
m = helper.make_model(g, opset_imports=list(base.opset_import)); m.ir_version = base.ir_version
onnx.checker.check_model(m); onnx.save(m, out)
import onnxruntime as ort
X = np.random.default_rng(0).normal(size=(500, 109)).astype(np.float32)
ps = [ort.InferenceSession(p).run(['probabilities'], {'features': X})[0] for p in ins]
pe, le = ort.InferenceSession(out).run(['probabilities', 'label'], {'features': X})
print('max diff', np.abs(pe - np.mean(ps, 0)).max(), 'label ok', (le.ravel() == pe.argmax(1)).mean())
