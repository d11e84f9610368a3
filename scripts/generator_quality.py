#!/usr/bin/env python
"""Judge a generator (default: the shipped Fashion-MNIST DiT) with the shipped reference classifier (mgd3.quality):
accuracy on CFG samples (100 per class, 50 DDPM steps) and the Fréchet distance to real test images in the
classifier's features, next to the real-vs-real floor at the same number of images, with spread and mirrored share.
Writes MODEL/quality-cfg<G>.json and nbs/images/<name>-samples-cfg<G>.png (first 10 samples of each class).

  python scripts/generator_quality.py [--model NAME_OR_DIR] [--n_per_class 100] [--guidance_scale 4]
  python scripts/generator_quality.py --variance fixed_small --no_write   # diagnosis: ignore the learned sigma
  python scripts/generator_quality.py --model DIR --name NAME --json FILE  # a candidate: its record to FILE, its grid to nbs/images/NAME-...
"""
import argparse, json
from pathlib import Path
import torch
from diffusers import DDPMScheduler
from mgd3.core import atomic_json
from mgd3.data import load_fashion_mnist, show_grid
from mgd3.pipeline import ModeGuidedDiTPipeline
from mgd3.quality import load_ref_classifier, sample_quality

ROOT = Path(__file__).resolve().parent.parent
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--model', default=None, help='a shipped model name or a model folder (default: the shipped fmnist-dit)')
p.add_argument('--n_per_class', type=int, default=100); p.add_argument('--guidance_scale', type=float, default=4.0)
p.add_argument('--num_inference_steps', type=int, default=50); p.add_argument('--seed', type=int, default=0)
p.add_argument('--name', default='fmnist-dit', help='name of the sample grid image')
p.add_argument('--no_write', action='store_true', help='print only')
p.add_argument('--json', default=None, help='write the record here instead of MODEL/quality-cfg<G>.json (a candidate measured beside the shipped model)')
p.add_argument('--variance', default='learned_range', choices=['learned_range', 'fixed_small', 'fixed_large'],
               help='sampling variance (default: the learned one, as DiT)')
p.add_argument('--clip', action='store_true', help='clip the predicted x0 to [-1, 1] at each step')
a = p.parse_args()
pipe = ModeGuidedDiTPipeline.from_pretrained(a.model)
pipe.scheduler = DDPMScheduler.from_config(pipe.scheduler.config, variance_type=a.variance, clip_sample=a.clip)
clf, crec = load_ref_classifier()
q, gen = sample_quality(pipe, clf, load_fashion_mnist('test'), a.n_per_class, a.guidance_scale, a.num_inference_steps, a.seed)
q.update(variance=a.variance, clip_sample=a.clip, classifier_test_accuracy=crec['test_accuracy'],
         model_steps=pipe.mgd3_info.get('record', {}).get('steps'),
         command=' '.join(['python scripts/generator_quality.py', f"--n_per_class {a.n_per_class}", f"--guidance_scale {a.guidance_scale:g}"]
                          + [f"--model {a.model}"] * bool(a.model) + [f"--variance {a.variance}"] * (a.variance != 'learned_range')
                          + ['--clip'] * a.clip + [f"--name {a.name}"] * (a.name != 'fmnist-dit') + [f"--json {a.json}"] * bool(a.json)))
LISTS = ('per_class_accuracy', 'mirrored_share', 'mirrored_share_real', 'spread_ratio', 'spread_ratio_real')
print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in q.items() if k not in LISTS}, indent=1))
for k in LISTS: print(f"{k} per class:", [round(v, 3) for v in q[k]])
if not a.no_write:
    atomic_json(Path(a.json) if a.json else pipe.model_path/f"quality-cfg{a.guidance_scale:g}.json", q)
    import matplotlib; matplotlib.use('Agg')
    idx = torch.cat([torch.arange(c * a.n_per_class, c * a.n_per_class + 10) for c in range(10)])
    ax = show_grid(gen[idx], 10, pipe.classes, title=f"{a.name}: CFG {a.guidance_scale:g}, {a.num_inference_steps} DDPM steps, step {q['model_steps']}")
    ax.figure.savefig(ROOT/'nbs'/'images'/f"{a.name}-samples-cfg{a.guidance_scale:g}.png", dpi=72, bbox_inches='tight')
