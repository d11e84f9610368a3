#!/usr/bin/env python
"""Do other judges agree? The generator's Fréchet ratio (its model card, nbs/explanations/generator.ipynb) is measured in the features of one reference
classifier. This trains more classifiers of the same kind (another seed; three times the epochs) and measures, in
each one's features, the distance of the IPC-50 sets in results/sets (seeds 0 and 1 together: 100 images per
class, the size scripts/generator_quality.py uses) to one real test half, as a multiple of that judge's real-vs-real floor.
Writes results/judge-agreement.json. About an hour on one CPU core (mostly training the 12-epoch judge).

  python research/judge_agreement.py
"""
import argparse, time
from pathlib import Path
import torch
from mgd3.core import atomic_json, env_info
from mgd3.data import load_fashion_mnist, load_image_folder, safe_name, to_float
from mgd3.quality import train_classifier, load_ref_classifier, classify, frechet_distance, real_halves

ROOT = Path(__file__).resolve().parent.parent
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--methods', nargs='+', default=['dit', 'mgd3', 'mgd3_nostop', 'random'])
p.add_argument('--out', default=str(ROOT/'results'/'judge-agreement.json'))
a = p.parse_args()
train, test = load_fashion_mnist('train'), load_fashion_mnist('test')
halves = real_halves(test, 100, 0)
names = [safe_name(c) for c in test.classes]
def load_set(method):  # IPC-50 seeds 0 and 1: 100 images per class
    dirs = [ROOT/'results'/'sets'/f'ipc50-{method}-seed{s}' for s in (0, 1)]
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing: raise SystemExit(f"error: {missing[0]} not found; make it with scripts/results.py --ipcs 50 --methods {method}")
    return torch.cat([to_float(load_image_folder(d, classes=names).x) for d in dirs])
sets = {m: load_set(m) for m in a.methods}
judges = [('shipped judge: width 32, 4 epochs, seed 0', lambda: load_ref_classifier()[0]),
          ('width 32, 4 epochs, seed 1', lambda: train_classifier(train, epochs=4, seed=1, progress=False)),
          ('width 32, 12 epochs, seed 2', lambda: train_classifier(train, epochs=12, seed=2, progress=False))]
rows = []
print("| judge | test accuracy | floor | " + " | ".join(sets) + " |\n|---|---|---|" + "---|" * len(sets), flush=True)
for name, make in judges:
    t0 = time.time(); j = make()
    acc = (classify(j, test.images())[0] == test.y).float().mean().item()
    f0 = classify(j, halves[0])[1]; floor = frechet_distance(classify(j, halves[1])[1], f0)
    ratios = {m: frechet_distance(classify(j, x)[1], f0) / floor for m, x in sets.items()}
    rows.append({'judge': name, 'test_accuracy': acc, 'floor': floor, 'ratios': ratios, 'wall_s': time.time() - t0})
    print(f"| {name} | {100*acc:.1f} % | {floor:.3f} | " + " | ".join(f"{r:.1f}" for r in ratios.values()) + " |", flush=True)
atomic_json(a.out, {'rows': rows, 'sets': 'results/sets/ipc50-{method}-seed{0,1} (100 images per class)',
                    'reference': 'real_halves(test, 100, seed 0)', 'command': 'python research/judge_agreement.py', 'env': env_info()})
