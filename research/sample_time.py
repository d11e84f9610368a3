#!/usr/bin/env python
"""Sampling cost of the generator candidates, measured the same way in one run: 100 images (10 per class), CFG 4,
50 DDPM steps, decoded to pixels (the VAE decode included for latent models), on one thread. The candidates sample in
turn, round after round, so a change of load on the machine falls on all of them alike; the median round is reported
with its ratio to the shipped pixel DiT. Writes results/generators/sample-time.json.

  OMP_NUM_THREADS=1 python research/sample_time.py --rounds 3 --model NAME=DIR ...
"""
import argparse, json, statistics, time
from pathlib import Path
import torch
from mgd3.core import atomic_json, env_info
from mgd3.pipeline import ModeGuidedDiTPipeline

ROOT = Path(__file__).resolve().parent.parent

def sampler(model:str, n_per_class:int=10):
    "A function sampling `n_per_class` images of each class with the model in `model` (a shipped name or a folder)."
    pipe = ModeGuidedDiTPipeline.from_pretrained(model); pipe.set_progress_bar_config(disable=True)
    y = torch.arange(pipe.num_classes).repeat_interleave(n_per_class)
    return lambda: pipe(y, guidance_scale=4.0, num_inference_steps=50, generator=0, output_type='pt')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', nargs='+', default=['dit v2 (pixels, shipped)=fmnist-dit'], help='NAME=DIR, the first the reference')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--out', default=str(ROOT/'results'/'generators'/'sample-time.json')); a = ap.parse_args()
    torch.set_num_threads(1)
    models = dict(m.split('=', 1) for m in a.model); run = {k: sampler(v) for k, v in models.items()}; ts = {k: [] for k in run}
    for r in range(a.rounds):
        for k, f in run.items():
            t0 = time.perf_counter(); f(); ts[k].append(time.perf_counter() - t0)
            print(f"round {r}: {k} {ts[k][-1]:.1f} s", flush=True)
    ref = statistics.median(ts[next(iter(ts))])
    rows = [{'candidate': k, 'model': models[k], 'median_s': statistics.median(v), 'times_s': [round(t, 2) for t in v],
             'ratio_to_first': statistics.median(v) / ref} for k, v in ts.items()]
    cmd = 'OMP_NUM_THREADS=1 python research/sample_time.py --rounds %d --model %s' % (a.rounds, ' '.join(f"'{m}'" for m in a.model))
    atomic_json(a.out, {'command': cmd, 'images': 100, 'guidance_scale': 4.0, 'steps': 50, 'threads': 1,
                        'note': 'one process on one core of 2, beside another single-core job; candidates interleaved round by round',
                        'rows': rows, 'env': env_info()})
    for r in rows: print(f"{r['candidate']}: {r['median_s']:.1f} s per 100 images ({r['ratio_to_first']:.2f}x)")
