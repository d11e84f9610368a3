#!/usr/bin/env python
"""Measure the sample quality of a generator directory (default: the shipped Fashion-MNIST DiT) with the shipped
reference classifier: accuracy on 100 CFG-4 samples per class (50 DDPM steps) and the Fréchet distance to real
test images in the classifier's features, next to the real-vs-real floor at the same number of images.
Writes MODEL/quality.json and nbs/images/<name>-samples.png (first 10 samples of each class).

  python scripts/generator_quality.py [--model DIR] [--n_per_class 100] [--guidance_scale 4]
  python scripts/generator_quality.py --variance fixed_small --no_write   # diagnosis: ignore the learned sigma
"""
import argparse, json, time
from pathlib import Path
import torch
from mgd3.core import atomic_json
from mgd3.data import load_fashion_mnist, show_grid
from mgd3.generator import load_generator, load_ref_classifier, sample_quality, shipped_model_dir

ROOT = Path(__file__).resolve().parent.parent
p = argparse.ArgumentParser()
p.add_argument('--model', default=None); p.add_argument('--n_per_class', type=int, default=100)
p.add_argument('--guidance_scale', type=float, default=4.0); p.add_argument('--steps', type=int, default=50)
p.add_argument('--seed', type=int, default=0); p.add_argument('--name', default='fmnist-dit')
p.add_argument('--no_write', action='store_true', help='print only')
p.add_argument('--variance', default='learned_range', choices=['learned_range', 'fixed_small', 'fixed_large'],
               help='sampling variance (default: the learned one, as DiT)')
p.add_argument('--clip', action='store_true', help='clip the predicted x0 to [-1, 1] at each step')
a = p.parse_args()
mdir = Path(a.model) if a.model else shipped_model_dir()
model, sch, info = load_generator(mdir)
clf, crec = load_ref_classifier()
test = load_fashion_mnist('test')
from diffusers import DDPMScheduler
sch = DDPMScheduler.from_config(sch.config, variance_type=a.variance, clip_sample=a.clip)
q, gen = sample_quality(model, clf, test, a.n_per_class, a.guidance_scale, a.steps, a.seed, scheduler=sch)
q['variance'], q['clip_sample'] = a.variance, a.clip
q['classifier_test_accuracy'] = crec['test_accuracy']
q['model_steps'] = info.get('record', {}).get('steps')
q['command'] = f"python scripts/generator_quality.py --n_per_class {a.n_per_class} --guidance_scale {a.guidance_scale:g}" + (f" --model {a.model}" if a.model else '') \
    + (f" --variance {a.variance}" if a.variance != 'learned_range' else '') + (' --clip' if a.clip else '')
LISTS = ('per_class_accuracy', 'mirrored_share', 'mirrored_share_real', 'spread_ratio', 'spread_ratio_real')
print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in q.items() if k not in LISTS}, indent=1))
for k in LISTS: print(f"{k} per class:", [round(v, 3) for v in q[k]])
if not a.no_write:
    atomic_json(mdir/f"quality-cfg{a.guidance_scale:g}.json", q)
    import matplotlib; matplotlib.use('Agg')
    idx = torch.cat([torch.arange(c * a.n_per_class, c * a.n_per_class + 10) for c in range(10)])
    ax = show_grid(gen[idx], 10, test.classes, title=f"{a.name}: CFG {a.guidance_scale:g}, {a.steps} DDPM steps, step {q['model_steps']}")
    ax.figure.savefig(ROOT/'nbs'/'images'/f"{a.name}-samples-cfg{a.guidance_scale:g}.png", dpi=72, bbox_inches='tight')
