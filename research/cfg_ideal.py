#!/usr/bin/env python
"""What Fréchet ratio would a perfect generator reach at CFG scale w? Classifier-free guidance at scale w samples
(approximately) from p(x|c) · p(c|x)^(w-1): the class density tilted towards images that are clearly of their class.
This script draws that tilted set from real test images, using the reference classifier's softmax as p(c|x), and
measures it like a generator: Fréchet distance to a disjoint real draw of the same size, as a multiple of the
real-vs-real floor (w = 1), and the per-class spread ratio. Several draws give mean ± std.

It answers one question about the issue's target (≤ 1.5x the floor at CFG 4): how much of that budget CFG itself
spends on a perfect model. It is a lower bound on what CFG costs a real model (which tilts at every noise level
with its own, less sharp classifier), not a bound on what a model could reach.

  python research/cfg_ideal.py [--n_per_class 50 100] [--scales 1 2 4] [--draws 5]
"""
import argparse
import numpy as np, torch
from mgd3.data import load_fashion_mnist
from mgd3.quality import load_ref_classifier, classify, frechet_distance, spread_ratio

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--n_per_class', type=int, nargs='+', default=[50, 100])
p.add_argument('--scales', type=float, nargs='+', default=[1.0, 2.0, 4.0])
p.add_argument('--draws', type=int, default=5)
a = p.parse_args()
if min(a.scales) < 1: raise SystemExit(f"error: --scales must be >= 1 (CFG below 1 is not a tilt towards the class), got {min(a.scales):g}")
if a.draws < 2: raise SystemExit(f"error: --draws must be at least 2 for a standard deviation, got {a.draws}")
clf, _ = load_ref_classifier(); test = load_fashion_mnist('test'); K = test.num_classes
with torch.no_grad():
    _, f = classify(clf, test.images()); post = torch.softmax(clf.head(f), 1)[torch.arange(len(test.y)), test.y].double()
for n in a.n_per_class:
    if n * 2 > min(len(test.indices(c)) for c in range(K)): raise SystemExit(f"error: --n_per_class {n} leaves no pool to draw from")
labels = torch.arange(K).repeat_interleave   # labels(n): class order of a draw
print("| images per class | CFG w | Fréchet (mean ± std) | ratio to w = 1 | spread ratio (mean over classes) |\n|---|---|---|---|---|")
for n in a.n_per_class:
    base = None
    for w in sorted(set(a.scales) | {1.0}):   # w = 1 (an untilted draw) is the floor the others are divided by
        fd, sp = [], []
        for d in range(a.draws):
            g = torch.Generator().manual_seed(d); ref, tilted = [], []
            for c in range(K):
                idx = test.indices(c); idx = idx[torch.randperm(len(idx), generator=g)]
                ref.append(idx[:n]); pool = idx[n:]   # the reference draw, and the pool the tilted set comes from
                tilted.append(pool[torch.multinomial(post[pool] ** (w - 1), n, replacement=False, generator=g)])
            ref, tilted = torch.cat(ref), torch.cat(tilted)
            fd.append(frechet_distance(f[tilted], f[ref]))
            sp.append(float(np.nanmean(spread_ratio(f[tilted], labels(n), f[ref], labels(n), K))))
        m = float(np.mean(fd)); base = base if base is not None else m
        print(f"| {n} | {w:g} | {m:.3f} ± {np.std(fd):.3f} | {m / base:.2f} | {np.mean(sp):.2f} |")
