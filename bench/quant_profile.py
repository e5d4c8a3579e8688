#!/usr/bin/env python3
"""Per-operator time of quantised variants in tract 0.23.9 (its Python bindings, same version as
the daemon's crate; training/.venv-pose has them), as tract runs the optimised plan:

  training/.venv-pose/bin/python bench/quant_profile.py TOP VARIANT:FILE ...
  e.g. bench/quant_profile.py 8 f32:pose_landmarks.onnx int8_qdq:pose_landmarks.onnx

VARIANT is a directory of training/.cache/quant (training/pose/quantise.py). The input is
the first calibration crop (or detector input). Prints ms per run and the TOP operators by
total time (name x node count, ms). Run it from outside training/ (the bindings' module
must not be shadowed).
"""
import os, sys, json, numpy as np, tract, collections
Q=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'training/.cache/quant')
z=np.load(Q+'/calibration.npz')
top=int(sys.argv[1])
for spec in sys.argv[2:]:
    v,f=spec.split(':')
    inp = z['det'][:1] if 'detector' in f else z['lm'][:1]
    try:
        r=tract.onnx().load(f'{Q}/{v}/{f}').into_model().into_runnable()
    except Exception as e:
        print(v,f,'LOAD ERROR',str(e).splitlines()[0]); continue
    for _ in range(2): r.run([inp])
    p=json.loads(r.profile_json([inp]))
    tot=p['profiling_info']['secs_per_iter']*1e3
    per=collections.Counter(); cnt=collections.Counter()
    for n in p['nodes']:
        s=n.get('secs_per_iter')
        if s: per[n['op_name']]+=s*1e3; cnt[n['op_name']]+=1
    print(f'{v} {f}: {tot:.2f} ms/iter ({p["profiling_info"]["iterations"]} it)  ' + '  '.join(f'{o}x{cnt[o]} {t:.2f}' for o,t in per.most_common(top)))
