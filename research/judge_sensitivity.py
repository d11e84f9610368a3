#!/usr/bin/env python
"""How strongly does the Fréchet distance in the reference classifier's features react to small image changes?
Perturbs one half of a real Fashion-MNIST test sample (100 images per class, as scripts/generator_quality.py draws it) and
prints its distance to the other half as a multiple of the real-vs-real floor. A scale for reading the generator's
ratio: if invisible pixel noise already costs several times the floor, a large ratio need not mean bad samples.

  python research/judge_sensitivity.py [--n_per_class 100] [--seed 0]
"""
import argparse
import torch, torch.nn.functional as F
from mgd3.data import load_fashion_mnist, to_float, to_uint8
from mgd3.quality import load_ref_classifier, classify, frechet_distance, real_halves

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--n_per_class', type=int, default=100); p.add_argument('--seed', type=int, default=0)
a = p.parse_args()
clf, _ = load_ref_classifier(); test = load_fashion_mnist('test'); n = a.n_per_class
halves = real_halves(test, n, a.seed)
f0 = classify(clf, halves[0])[1]
def fd(x): return frechet_distance(classify(clf, to_float(to_uint8(x.clamp(-1, 1))))[1], f0)
x, g = halves[1], torch.Generator().manual_seed(a.seed + 1)
fg = x > -1  # the garment's pixels (Fashion-MNIST backgrounds are exactly 0)
cases = {
    'none (the floor)': x,
    'Gaussian noise, sigma 2/255': x + 4 / 255 * torch.randn(x.shape, generator=g),
    'Gaussian noise, sigma 5/255': x + 10 / 255 * torch.randn(x.shape, generator=g),
    'Gaussian noise, sigma 13/255': x + 26 / 255 * torch.randn(x.shape, generator=g),
    'garment 10 % brighter': torch.where(fg, (x + 1) * 1.1 - 1, x),
    'garment 30 % brighter': torch.where(fg, (x + 1) * 1.3 - 1, x),
    'gamma 0.7 (mid-tones brighter)': ((x + 1) / 2) ** 0.7 * 2 - 1,
    'shifted by 1 px': torch.roll(x, 1, 3),
    'half-strength 3x3 blur': 0.5 * x + 0.5 * F.avg_pool2d(x, 3, 1, 1),
}
floor = fd(x)
print(f"| change to one real half ({n} per class) | Fréchet | ratio to floor |\n|---|---|---|")
for k, v in cases.items(): d = fd(v); print(f"| {k} | {d:.3f} | {d / floor:.1f} |")
