"""The synthetic generator's stages (training/activity/generate.py is the command line and
re-exports every name below, so `from generate import ...` keeps working).

  common.py     version, classes, landmark indices, DT, small maths helpers
  body.py       1. body: proportions, gait, chairs / floor seats
  motion/       2. scenario -> control channels: the Builder (base.py: channels and
                seating; locomotion.py: footstep planner, walks, turns; still.py: standing
                and sitting still, gestures; sitstand.py: sit down, stand up, on the floor;
                exercise.py: squats, jumps, jacks, bends, lunges; ambient.py: sway, glances)
  scenarios.py  2. the plans: TUG, random, floor, workout, pass
  labels.py     walk labels resolved against the camera, seated `still` -> `sitting`
  pose.py       3. channels -> 33 BlazePose landmarks in world metres (FK / IK)
  camera.py     4. wall camera, its placement, the floor region it sees, furniture
  estimator.py  5. MediaPipe-like output: noise, visibility, occlusion, swaps, One Euro,
                frame times
  sequence.py   1-5 for one seeded sequence (make_sequence, seq_seed)
  output.py     6. JSON Lines frames (+ "label") and meta.json
"""
