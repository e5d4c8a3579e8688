"""Static int8 QDQ with the k most int8-sensitive Convs (sens.py) left in f32, MinMax or
Percentile calibration: landmark change against f32 in onnxruntime (% of the 256 crop).

  training/.venv-quant/bin/python training/pose/quant_experiments/mixed.py
"""
import os
import sys
HERE = os.path.dirname(os.path.abspath(__file__))
Q = os.path.join(HERE, '../../.cache/quant')
import numpy as np, onnx, onnxruntime as ort, json, sys, os
from onnxruntime.quantization import quantize_static, QuantFormat, QuantType, CalibrationMethod
sys.path.insert(0,os.path.join(HERE,'..')); import quantise as qz
z=np.load(Q+'/calibration.npz'); cal=z['lm']; x=cal[1::3]
def run(p):
    so=ort.SessionOptions(); so.intra_op_num_threads=1
    s=ort.InferenceSession(p,so,providers=['CPUExecutionProvider'])
    return np.stack([s.run(None,{'input_1':xi[None]})[0].reshape(39,5)[:33,:2] for xi in x])
for f in ['pose_landmarks_lite.onnx','pose_landmarks.onnx']:
    ref=run(f'{Q}/f32/{f}')
    sens=json.load(open(f'{Q}/sens_{f}.json'))
    pre=f'{Q}/tmp/{f}.pre.onnx'
    names={n.name for n in onnx.load(pre).graph.node}
    for k in [10,25]:
      for meth in ['MinMax','Percentile']:
        excl=[s[2] for s in sens[:k]]
        # sens stores the last 60 chars of the name: map back
        ex=[n for n in names if any(n.endswith(e) for e in excl)]
        out=f'{Q}/tmp/mixed_{k}_{meth}_{f}'
        quantize_static(pre,out,qz.Reader(cal),quant_format=QuantFormat.QDQ,per_channel=True,activation_type=QuantType.QUInt8,weight_type=QuantType.QInt8,nodes_to_exclude=ex,calibrate_method=getattr(CalibrationMethod,meth))
        d=np.hypot(*(ref-run(out)).transpose(2,0,1))/256*100
        print(f,k,len(ex),meth,'mean %.3f p95 %.3f'%(d.mean(),np.percentile(d,95)),flush=True)
