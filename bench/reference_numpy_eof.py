#!/usr/bin/python3
"""numpy reference for `npm run bench -- metrics`: the joint-EOF score (Koch et al. 2015 as used by
Sun et al. 2024; the definition of src-main/services/metrics/eof.ts) on the fields the bench
wrote, timed step by step, with the BLAS numpy loaded.

Usage: /usr/bin/python3 reference_numpy_eof.py OBS.f64 SIM.f64 STEPS CELLS [--repeat 2]
Prints one JSON line.
"""
import argparse, json, time
import numpy as np
from blas_info import blas_info  # beside this script


def eof(obs, sim, steps):
    t = [time.perf_counter()]
    valid = np.isfinite(obs).all(0) & np.isfinite(sim).all(0)
    x = np.concatenate([obs[:, valid], sim[:, valid]], 0)
    m = x.mean(1, keepdims=True)
    sd = x.std(1, keepdims=True)  # population sd, numpy's default
    a = np.where(sd > 0, (x - m) / np.where(sd > 0, sd, 1), 0.0)
    a -= a.mean(0, keepdims=True)
    t.append(time.perf_counter())
    g = a @ a.T
    t.append(time.perf_counter())
    w, v = np.linalg.eigh(g)  # LAPACK dsyevd
    t.append(time.perf_counter())
    w, v = w[::-1], v[:, ::-1]
    wp = np.maximum(w, 0)
    score = ((wp / wp.sum()) * np.abs(v[steps:] - v[:steps])).sum(1)
    t.append(time.perf_counter())
    ms = [round((b - a_) * 1000, 1) for a_, b in zip(t, t[1:])]
    return score, {'prepare_ms': ms[0], 'gram_ms': ms[1], 'eigh_ms': ms[2], 'scores_ms': ms[3],
                   'joint_eof_ms': round((t[-1] - t[0]) * 1000, 1)}


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('obs'); ap.add_argument('sim')
    ap.add_argument('steps', type=int); ap.add_argument('cells', type=int)
    ap.add_argument('--repeat', type=int, default=2)
    a = ap.parse_args()
    obs = np.fromfile(a.obs, dtype='<f8').reshape(a.steps, a.cells)
    sim = np.fromfile(a.sim, dtype='<f8').reshape(a.steps, a.cells)
    runs = [eof(obs, sim, a.steps) for _ in range(a.repeat)]
    best = min((r[1] for r in runs), key=lambda r: r['joint_eof_ms'])
    print(json.dumps({'engine': 'numpy ' + np.__version__, 'runs': [r[1] for r in runs], 'best': best,
                      'mean_eof': float(np.mean(runs[0][0])), 'blas': blas_info()}))
