#!/usr/bin/env python
"""Class fidelity of the IPC-10 sets of one results folder, beside the set metrics their cells recorded.

For each finished IPC-10 cell of a generator method (the table's `dit`, `mgd3_nostop`, `mgd3`, and the t_stop and CFG
sweeps), the reference classifier (the judge of `mgd3.quality`) classifies the set's 100 images: the share it assigns
to the class they were generated for, the worst class, and its mean confidence in that class. Written next to the
cell's accuracy, mode coverage, diversity and representativeness, so the sweeps can be read as "what changed in the
set" rather than only "what changed in the accuracy". A set missing from results/sets/ is distilled again from its
cell's record (the same images: distillation is deterministic). Also draws one class of seed 0 per t_stop.
Rows already in the output for the same cell and accuracy are kept (run it again as cells land: only the new
cells' sets are judged, and the drawing is redone only when a new CFG-4 seed-0 cell joins it); --redo judges all.

  python research/set_fidelity.py --folder fmnist-dit-latent --model fmnist-dit   # writes results/fidelity/<folder>-ipc10.json
"""
import argparse, json
from pathlib import Path
import torch
from mgd3.core import atomic_json
from mgd3.data import load_fashion_mnist, load_image_folder, to_float, show_grid, safe_name
from mgd3.distill import DistillConfig, distill
from mgd3.evaluate import align_classes
from mgd3.quality import load_ref_classifier, classify
from mgd3.results import results_dir, sets_dir, load_cells, current_cells, generator_hash, guided_steps

ROOT = Path(__file__).resolve().parent.parent

def set_of(rec:dict, out:Path, model:str, train):
    "The distilled set of a cell, from results/sets or distilled again from its record."
    sdir = sets_dir(out)/rec['cell']
    if not (sdir/'manifest.json').exists():
        distill(DistillConfig.from_dict(rec['distill']['config'] | {'model': model}), sdir, resume=True, progress=False, data=train)
    return align_classes(load_image_folder(sdir), train.classes, f"the set of {rec['cell']}")

def fidelity(clf, s)->dict:
    "Judge accuracy overall and in the worst class, and the mean probability of the intended class."
    x = to_float(s.x); pred, feats = classify(clf, x)
    with torch.no_grad(): p = torch.softmax(clf.head(feats), 1)[torch.arange(len(s.y)), s.y]
    per = [float((pred[s.y == c] == c).float().mean()) for c in range(s.num_classes)]
    return {'judge_accuracy': float((pred == s.y).float().mean()), 'judge_worst_class': min(per),
            'intended_class_probability': float(p.mean())}

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--folder', default='fmnist-dit-latent'); ap.add_argument('--model', default='fmnist-dit')
    ap.add_argument('--grid_class', type=int, default=6, help='the class drawn per t_stop (6: Shirt, the hardest)')
    ap.add_argument('--redo', action='store_true', help='judge every set again, not only the cells new since the last run')
    a = ap.parse_args()
    out = results_dir(a.folder); train = load_fashion_mnist('train'); clf, _ = load_ref_classifier()
    dest = ROOT/'results'/'fidelity'/f"{a.folder}-ipc10.json"
    old = {} if a.redo or not dest.exists() else {r['cell']: r for r in json.loads(dest.read_text())['rows']}
    cells, stale = current_cells(out, generator_hash(a.model))
    todo = [rec for rec in cells if rec['distill']['config']['ipc'] == 10 and rec['distill'].get('model_hash')]
    drawn = lambda rec: rec['cell'].endswith('seed0') and rec['distill']['config']['guidance_scale'] == 4.0
    same = {rec['cell'] for rec in todo if rec['cell'] in old and old[rec['cell']]['accuracy'] == rec['accuracy']}
    kept = lambda rec: rec['cell'] in same
    redraw = any(drawn(rec) and not kept(rec) for rec in todo)
    rows, grid = [], []
    for rec in todo:
        conf = rec['distill']['config']
        s = None if kept(rec) and not (redraw and drawn(rec)) else set_of(rec, out, a.model, train)
        row = old[rec['cell']] if kept(rec) else {
            'cell': rec['cell'], 'method': conf['method'], 'stop_t': conf['stop_t'], 'guided_steps': guided_steps(conf),
            'guidance_scale': conf['guidance_scale'], 'accuracy': rec['accuracy'], **fidelity(clf, s),
            **{k: rec.get('metrics', {}).get(k) for k in ('mode_coverage', 'diversity', 'representativeness')}}
        rows.append(row)
        if redraw and drawn(rec): grid.append((row['guided_steps'], s.images(s.indices(a.grid_class)), rec['cell']))
    print(f"{len(rows) - len(same)} sets judged, {len(same)} rows kept from {dest.name}")
    atomic_json(dest, {'rows': rows, 'command': f"python research/set_fidelity.py --folder {a.folder} --model {a.model}",
                       'judge': 'mgd3/assets/fmnist-classifier (90.6 % on the real test set)'})
    print('| cell | guided steps | CFG | accuracy | judge accuracy | worst class | p(intended) | mode coverage | diversity |')
    print('|---|---|---|---|---|---|---|---|---|')
    for r in sorted(rows, key=lambda r: (r['guidance_scale'], -r['guided_steps'], r['cell'])):
        print(f"| {r['cell']} | {r['guided_steps']} | {r['guidance_scale']:g} | {r['accuracy']:.2f} | {100*r['judge_accuracy']:.0f} % | "
              f"{100*r['judge_worst_class']:.0f} % | {r['intended_class_probability']:.3f} | {r['mode_coverage']:.2f} | {r['diversity']:.3f} |")
    if grid:
        grid.sort(key=lambda g: -g[0])
        ax = show_grid(torch.cat([g[1] for g in grid]), 10, [f"{g[2].split('-seed')[0]} ({g[0]} guided)" for g in grid],
                       title=f"{train.classes[a.grid_class]}, IPC 10, seed 0, by guided steps")
        ax.figure.savefig(ROOT/'nbs'/'images'/f"{a.folder}-stop-sweep-class{a.grid_class}.png", dpi=80, bbox_inches='tight')

if __name__ == '__main__': main()
