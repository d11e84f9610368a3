#!/usr/bin/env python
"""Seconds per training step of the generator candidates, measured the same way in one run: mgd3_pretrain's own step
(batch drawn by (seed, step), hybrid loss, clipping, AdamW, EMA) at batch 128 on one thread, on random data of each
candidate's shape (a step's cost does not depend on the values). The candidates take their steps in turn (one step
each, round after round), so a change of load on the machine falls on all of them alike; the median step is reported.
Writes results/generators/train-step-time.json.

  OMP_NUM_THREADS=1 python research/train_step_time.py --steps 20
"""
import argparse, json, platform, statistics, time
from pathlib import Path
import torch
from mgd3.core import atomic_json, env_info
from mgd3.dit import Diffusion, dit_scheduler, n_params
from mgd3.train import TrainConfig, EMA, make_model, _step_batch, _train_step

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = {   # name: (arch, preset, shape of the training latents)
    'dit fmnist (pixels, shipped v2)': ('dit', 'fmnist', (1, 28, 28)),
    'dit fmnist-latent (4x7x7)':       ('dit', 'fmnist-latent', (4, 7, 7)),
    'unet fmnist (pixels)':            ('unet', 'fmnist', (1, 28, 28)),
    'unet fmnist-latent (4x7x7 -> 8x8)': ('unet', 'fmnist-latent', (4, 7, 7)),
}

def trainer(arch, preset, shape, batch_size=128):
    "A function running training step s of a fresh model of `preset`, as mgd3_pretrain runs it; and the model's size."
    cfg = TrainConfig(arch=arch, preset=preset, batch_size=batch_size)
    model = make_model(cfg, shape, 10).train()
    opt, ema, diff = torch.optim.AdamW(model.parameters(), lr=cfg.lr), EMA(model, cfg.ema_decay), Diffusion(dit_scheduler())
    z, y = torch.randn(1000, *shape).clamp(-1, 1), torch.arange(1000) % 10
    return (lambda s: _train_step(model, opt, ema, diff, _step_batch(z, y, cfg, s, 10), cfg, s)), n_params(model)

def step_times(candidates:dict, steps:int, warmup:int=2)->dict:
    "name -> (parameters, seconds of each timed step), the candidates stepping in turn."
    run = {k: trainer(*v) for k, v in candidates.items()}; ts = {k: [] for k in run}
    for s in range(warmup + steps):
        for k, (f, _) in run.items():
            t0 = time.perf_counter(); f(s); ts[k].append(time.perf_counter() - t0)
    return {k: (run[k][1], ts[k][warmup:]) for k in run}

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--out', default=str(ROOT/'results'/'generators'/'train-step-time.json')); a = ap.parse_args()
    torch.set_num_threads(1); torch.manual_seed(0)
    rows = []
    for name, (p, ts) in step_times(CANDIDATES, a.steps).items():
        arch, preset, shape = CANDIDATES[name]
        rows.append({'candidate': name, 'arch': arch, 'preset': preset, 'latent_shape': list(shape), 'params': p,
                     'mean_s': statistics.mean(ts), 'median_s': statistics.median(ts), 'times_s': [round(t, 4) for t in ts]})
        print(f"{name}: {p/1e6:.2f}M params, {statistics.median(ts):.3f} s/step (median of {len(ts)})", flush=True)
    ref = rows[0]['median_s']
    for r in rows: r['ratio_to_dit_fmnist'] = r['median_s'] / ref
    atomic_json(a.out, {'command': f'OMP_NUM_THREADS=1 python research/train_step_time.py --steps {a.steps}', 'batch_size': 128,
                        'threads': 1, 'note': 'one process on one core of 2, beside a single-core background training job (and, at times, other test runs); candidates interleaved step by step', 'rows': rows, 'env': env_info()})
