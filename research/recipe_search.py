#!/usr/bin/env python
"""Choose the Fashion-MNIST generator's size and recipe by measurement, at matched training time.

Each candidate (a change of the shipped `fmnist` preset or its learning rate) is trained from scratch for the same
wall-clock budget on this machine: its speed is measured on a few steps first, the step count is fixed from it and
recorded, and training runs with checkpoints (re-running the command resumes). Then its EMA model is judged like the
shipped one (sample_quality: reference-classifier accuracy and Fréchet ratio) at CFG 4 and CFG 2.
One JSON per candidate in results/recipe-search/; run directories in runs/recipe-search/.

  python research/recipe_search.py --candidates p4-L6 p4-L8 --minutes 35     # one process per core, each its own list
  python research/recipe_search.py --list
"""
import argparse, json, tempfile
from dataclasses import asdict
from pathlib import Path
from mgd3.core import atomic_json, env_info
from mgd3.data import load_fashion_mnist
from diffusers import DDPMScheduler
from mgd3.dit import dit_scheduler, make_dit, n_params
from mgd3.train import TrainConfig, train_dit
from mgd3.quality import load_ref_classifier, sample_quality
from mgd3.pipeline import ModeGuidedDiTPipeline

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = {  # name: (make_dit overrides of the fmnist preset, TrainConfig changes)
    'p4-L8':        ({}, {}),                                       # the shipped design: patch 4, 8 blocks, width 128
    'p4-L6':        ({'num_layers': 6}, {}),                        # the 2.1M-parameter scale
    'p4-L8-w192':   ({'num_attention_heads': 6}, {}),               # wider: 6 heads of 32
    'p2-L4':        ({'patch_size': 2, 'num_layers': 4}, {}),       # 196 tokens instead of 49
    'p4-L8-lr1e-3': ({}, {'lr': 1e-3}),
    'p4-L6-eps':    ({'num_layers': 6}, {'vlb_weight': 0.0}),       # the reference recipe: ε-only loss
    'p4-L8-eps':    ({}, {'vlb_weight': 0.0}),
    'p4-L6-eps-dit': ({'num_layers': 6}, {'vlb_weight': 0.0, 'init': 'dit'}),   # p4-L6-eps from DiT's adaLN-Zero init
    'p4-L6-eps-lr1e-3': ({'num_layers': 6}, {'vlb_weight': 0.0, 'lr': 1e-3}),        # p4-L6-eps with a 3.3x larger step size
}
# ε-only candidates have untrained σ channels: they are sampled with DDPM's fixed variance β̃_t (diffusers'
# `fixed_small`, the usual choice for ε-only models) instead of DiT's learned range.
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--candidates', nargs='+', default=list(CANDIDATES))
p.add_argument('--minutes', type=float, default=35.0, help='training wall-clock budget per candidate')
p.add_argument('--steps', type=int, default=None,
               help="fix the step count instead of timing the candidate (to match a finished candidate's steps when "
                    "the cores are shared and a timing would not be comparable)")
p.add_argument('--n_per_class', type=int, default=50, help='samples per class for the quality check')
p.add_argument('--guidance_scales', type=float, nargs='+', default=[4.0, 2.0])
p.add_argument('--variance', default='auto', choices=['auto', 'learned_range', 'fixed_small'],
               help="sampling variance for the quality check; auto: learned_range, fixed_small for ε-only candidates. "
                    "Another choice writes CANDIDATE@VARIANCE.json and reuses a finished training run")
p.add_argument('--out', default=str(ROOT/'results'/'recipe-search'))
p.add_argument('--runs', default=str(ROOT/'runs'/'recipe-search'))
p.add_argument('--list', action='store_true', help='print the candidates and their sizes, then stop')
a = p.parse_args()
bad = [c for c in a.candidates if c not in CANDIDATES]
if bad: raise SystemExit(f"error: unknown candidate {bad[0]!r}; choose from {', '.join(CANDIDATES)}")
if a.minutes <= 0: raise SystemExit(f"error: --minutes must be positive, got {a.minutes}")
if a.steps is not None and a.steps <= 0: raise SystemExit(f"error: --steps must be positive, got {a.steps}")
if a.list:
    for c, (o, t) in CANDIDATES.items(): print(f"{c:14s} {n_params(make_dit('fmnist', **o))/1e6:.2f}M parameters  {o} {t}")
    raise SystemExit(0)
train, test = load_fashion_mnist('train'), load_fashion_mnist('test')
clf, _ = load_ref_classifier()
out, runs = Path(a.out), Path(a.runs); out.mkdir(parents=True, exist_ok=True); runs.mkdir(parents=True, exist_ok=True)

def seconds_per_step(overrides, cfg, n=12):
    "Wall time per step of a short `train_dit` run of a fresh model (in a throw-away directory)."
    with tempfile.TemporaryDirectory() as d:
        _, rec = train_dit(train, d, TrainConfig(**{**asdict(cfg), 'steps': n}), model=make_dit('fmnist', init=cfg.init, **overrides), progress=False)
    return rec['wall_time_s'] / n

for c in a.candidates:
    res = out/(f'{c}.json' if a.variance == 'auto' else f'{c}@{a.variance}.json')
    if res.exists(): print(f"{c}: done ({res})"); continue
    overrides, changes = CANDIDATES[c]
    plan_f = runs/f'{c}.plan.json'
    if plan_f.exists(): plan = json.loads(plan_f.read_text())  # a resumed run keeps its step count
    elif a.steps is not None:
        plan = {'seconds_per_step': None, 'steps': a.steps, 'minutes': None, 'fixed_steps': True}
        atomic_json(plan_f, plan)
    else:
        base = TrainConfig(**changes)
        sps = seconds_per_step(overrides, base)
        plan = {'seconds_per_step': sps, 'steps': max(1, int(a.minutes * 60 / sps)), 'minutes': a.minutes}
        atomic_json(plan_f, plan)
    cfg = TrainConfig(**{**changes, 'steps': plan['steps'], 'checkpoint_minutes': 5.0})
    print(f"{c}: {plan['steps']} steps" + (" (fixed by --steps)" if plan.get('fixed_steps') else
          f" at {plan['seconds_per_step']:.2f} s/step ({a.minutes:g} min)"), flush=True)
    model = make_dit('fmnist', init=cfg.init, **overrides)
    rdir = runs/c
    ema, rec = train_dit(train, rdir, cfg, resume=(rdir/'checkpoint.json').exists(), model=model)
    quality = {}
    variance = a.variance if a.variance != 'auto' else 'fixed_small' if cfg.vlb_weight == 0 else 'learned_range'
    if variance == 'learned_range' and cfg.vlb_weight == 0: raise SystemExit(f"error: {c} trains no σ; sample it with --variance fixed_small")
    pipe = ModeGuidedDiTPipeline(ema, DDPMScheduler.from_config(dit_scheduler().config, variance_type=variance))
    for g in a.guidance_scales:
        q, _ = sample_quality(pipe, clf, test, a.n_per_class, g, 50, 0)
        quality[f'cfg{g:g}'] = {k: q[k] for k in ('accuracy', 'worst_class_accuracy', 'frechet', 'frechet_real_floor', 'frechet_ratio')}
        quality[f'cfg{g:g}']['mean_spread_ratio'] = sum(q['spread_ratio']) / len(q['spread_ratio'])
        print(f"  CFG {g:g}: accuracy {100*q['accuracy']:.1f} % (worst {100*q['worst_class_accuracy']:.0f} %), "
              f"Fréchet {q['frechet']:.3f} = {q['frechet_ratio']:.1f}x floor, spread {quality[f'cfg{g:g}']['mean_spread_ratio']:.2f}", flush=True)
    atomic_json(res, {'candidate': c, 'overrides': overrides, 'config': asdict(cfg), 'params': n_params(ema), 'plan': plan,
                      'steps': rec['steps'], 'wall_time_s': rec['wall_time_s'], 'final_mse': rec['log'][-1]['mse'] if rec['log'] else None,
                      'quality': quality, 'n_per_class': a.n_per_class, 'sampling_variance': variance,
                      'command': f"python research/recipe_search.py --candidates {c} " + (f"--steps {plan['steps']}" if plan.get('fixed_steps') else f"--minutes {a.minutes:g}") + (f" --variance {a.variance}" if a.variance != 'auto' else ''), 'env': env_info()})
