"""Per-layer sensitivity of a landmark model to int8 weights (symmetric, per output channel):
quantises one Conv's weights at a time and measures the landmark (x, y) change against f32
with onnxruntime on every 3rd calibration crop (% of the 256 crop, mean/p95); then weight-only
int8 keeping the k most sensitive layers f32. Writes training/.cache/quant/sens_FILE.json
(used by mixed.py). Needs training/pose/quantise.py's output (calibration.npz, f32/).

  training/.venv-quant/bin/python training/pose/quant_experiments/sens.py pose_landmarks.onnx
"""
import os
import sys
HERE = os.path.dirname(os.path.abspath(__file__))
Q = os.path.join(HERE, '../../.cache/quant')
import numpy as np, onnx, onnxruntime as ort, sys
from onnx import numpy_helper
f=sys.argv[1]
z=np.load(Q+'/calibration.npz'); x=z['lm'][::3]
m0=onnx.load(f'{Q}/f32/{f}')
def run(m):
    so=ort.SessionOptions(); so.intra_op_num_threads=1
    s=ort.InferenceSession(m.SerializeToString(),so,providers=['CPUExecutionProvider'])
    return np.stack([s.run(None,{'input_1':xi[None]})[0].reshape(39,5)[:33,:2] for xi in x])
ref=run(m0)
def err(o): d=np.hypot(*(ref-o).transpose(2,0,1))/256*100; return d.mean(), np.percentile(d,95)
inits={i.name:k for k,i in enumerate(m0.graph.initializer)}
convs=[(n.name,n.input[1]) for n in m0.graph.node if n.op_type=='Conv' and n.input[1] in inits]
res=[]
for k,(name,w) in enumerate(convs):
    m=onnx.ModelProto(); m.CopyFrom(m0)
    init=m.graph.initializer[inits[w]]
    a=numpy_helper.to_array(init).astype(np.float32)
    amax=np.abs(a.reshape(a.shape[0],-1)).max(1); s=np.where(amax>0,amax/127,1).reshape(-1,*[1]*(a.ndim-1))
    init.CopyFrom(numpy_helper.from_array((np.round(a/s)*s).astype(np.float32),w))
    e=err(run(m)); res.append((e[0],k,name[-60:],a.shape))
for r in sorted(res,reverse=True)[:15]: print('%.3f'%r[0],r[1],r[3],r[2])
print('sum of single errors', sum(r[0] for r in res))
order=[r[1] for r in sorted(res,reverse=True)]
for k in [0,1,2,3,6,10,20]:
    skip=set(order[:k]); m=onnx.ModelProto(); m.CopyFrom(m0); nbytes=0
    for j,(name,w) in enumerate(convs):
        if j in skip: continue
        init=m.graph.initializer[inits[w]]; a=numpy_helper.to_array(init).astype(np.float32)
        amax=np.abs(a.reshape(a.shape[0],-1)).max(1); s=np.where(amax>0,amax/127,1).reshape(-1,*[1]*(a.ndim-1))
        init.CopyFrom(numpy_helper.from_array((np.round(a/s)*s).astype(np.float32),w))
    print('w8 except top',k,'mean %.3f p95 %.3f'%err(run(m)), 'skipped params', sum(np.prod(m0.graph.initializer[inits[convs[j][1]]].dims) for j in skip))
import json; json.dump([[float(r[0]),int(r[1]),r[2]] for r in sorted(res,reverse=True)], open(f'{Q}/sens_{f}.json','w'))
