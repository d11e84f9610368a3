#!/usr/bin/env python
"""Compute the Fashion-MNIST results table cell by cell: distil with mgd3_distill's code path, evaluate with
ConvNet-3 under the DC/DSA protocol (1000 epochs), one run per (IPC, method, seed), the network seeded with the
distillation seed (run i trains on the set of seed i, as the paper does).

Each finished cell is written to results/fmnist/<cell>.json (committed); cells with a JSON are skipped, so the
script can be stopped at any time and re-run to continue: a cell in progress continues from its distillation
manifest and from the evaluation run's checkpoint (written every 5 minutes beside its state file), so a stop loses
at most a few minutes. Distilled sets go to results/sets/ (results/sets/<name>/ for another --out; not committed;
regenerable from the manifest settings). A cell made with other generator weights than --model's (default: the shipped
model) is skipped, so one results directory holds one generator's table; --recompute replaces such cells.

  python scripts/results.py --ipcs 1 10 --methods random kmeans_real      # the real-image baselines
  python scripts/results.py --ipcs 1 10 50 --methods dit mgd3_nostop mgd3 # the generator rows (needs the final model)
  python scripts/results.py --sweep lambda    # λ sweep at IPC 10 (seeds 0-2)
  python scripts/results.py --sweep stop_t    # t_stop sweep at IPC 10
  python scripts/results.py --sweep cfg --methods dit mgd3   # CFG scale of the generator methods at IPC 10
  python scripts/results.py --metrics_only    # add diversity / representativeness / mode coverage to finished cells
  python scripts/results.py --model DIR ...  # the generator methods with another generator (an mgd3 model directory)
  python scripts/results.py --full --full_epochs 20   # reference row: ConvNet-3 on all 60 000 training images
                                                      # (results/fmnist-full/full-e20-seed<i>.json)

Every cell with IPC >= 2 also gets the set metrics of mgd3.metrics.set_metrics (diversity, representativeness with
k = 50, mode coverage against the k-means modes of the real class) in the reference classifier's penultimate
features, against the 60 000 real training images.
"""
import argparse, json, time, hashlib
from pathlib import Path
from mgd3.core import atomic_json, env_info
from mgd3.data import load_fashion_mnist, load_image_folder
from mgd3.distill import DistillConfig, distill
from mgd3.evaluate import evaluate, align_classes
from mgd3.results import is_stale

ROOT = Path(__file__).resolve().parent.parent
METHODS = {'random': dict(method='random'), 'kmeans_real': dict(method='kmeans_real'), 'dit': dict(method='dit'),
           'mgd3_nostop': dict(method='mgd3', stop_t=0), 'mgd3': dict(method='mgd3')}

def cells(args):
    if args.sweep == 'lambda':
        for lam in args.values or (0.0, 0.05, 0.1, 0.2, 0.4):
            for s in args.seeds: yield f"sweep-lambda{lam:g}-ipc10-seed{s}", dict(method='mgd3', mode_guidance_scale=lam, ipc=10, seed=s)
    elif args.sweep == 'stop_t':
        for st in [int(v) for v in args.values] if args.values else (0, 10, 20, 25, 30, 40, 50):
            for s in args.seeds: yield f"sweep-stop{st}-ipc10-seed{s}", dict(method='mgd3', stop_t=st, ipc=10, seed=s)
    elif args.sweep == 'cfg':   # classifier-free guidance scale of the generator methods (the main cells are CFG 4)
        for g in args.values or (1.5, 2.0, 3.0):
            for m in [m for m in args.methods if m in ('dit', 'mgd3_nostop', 'mgd3')]:
                for s in args.seeds: yield f"sweep-cfg{g:g}-{m}-ipc10-seed{s}", dict(**METHODS[m], guidance_scale=g, ipc=10, seed=s)
    else:
        for ipc in args.ipcs:
            for m in args.methods:
                for s in args.seeds: yield f"ipc{ipc}-{m}-seed{s}", dict(**METHODS[m], ipc=ipc, seed=s)

_REF = {}
def cell_metrics(sdir, train):
    "Set metrics of the distilled set in `sdir` (None for IPC 1: diversity needs two images per class)."
    from mgd3.generator import load_ref_classifier, classify
    from mgd3.metrics import set_metrics
    s = load_image_folder(sdir)
    if min(s.counts()) < 2: return None
    from mgd3.modes import find_modes
    if 'clf' not in _REF: _REF['clf'] = load_ref_classifier()[0]
    def feats(im):  # the real set's features are computed once
        if len(im) != len(train): return classify(_REF['clf'], im)[1]
        if 'real' not in _REF: _REF['real'] = classify(_REF['clf'], im)[1]
        return _REF['real']
    ipc = min(s.counts())
    if ('modes', ipc) not in _REF:  # the same modes set_metrics would find, computed once per IPC
        _REF[('modes', ipc)] = find_modes(train.images(), train.y, train.num_classes, ipc, 'kmeans', 0).modes
    m = set_metrics(s, train, feats, k=50, modes=_REF[('modes', ipc)])
    return {'diversity': m['diversity'], 'representativeness': m['representativeness'], 'mode_coverage': m['mode_coverage'],
            'space': 'reference classifier penultimate features (mgd3 assets/fmnist-classifier)', 'real': 'Fashion-MNIST train'}

SETS = ROOT/'results'/'sets'

def sets_dir(out)->Path:
    """Where the distilled sets and evaluation states of the cells in `out` live: results/sets/ for results/fmnist,
    results/sets/<out name>/ for any other --out, so two tables never share a set or a run state."""
    return SETS if Path(out).resolve() == (ROOT/'results'/'fmnist').resolve() else SETS/Path(out).name

def state_path(name, precision, sets=SETS):
    return Path(sets)/(f"{name}.eval-state.json" if precision == 'fp32' else f"{name}.eval-state-{precision}.json")

def full_rows(args, train, test):
    "ConvNet-3 trained on the whole training set with the DC/DSA recipe for `--full_epochs` epochs, one cell per seed."
    E = args.full_epochs; out = ROOT/'results'/'fmnist-full'; out.mkdir(parents=True, exist_ok=True)
    for s in args.seeds:
        name = f"full-e{E}-seed{s}"
        if (out/f"{name}.json").exists(): continue
        r = evaluate(train, test, 'dc', runs=1, seed=s, epochs=E, progress=True, precision=args.precision,
                     state_file=state_path(name, args.precision))
        rec = {'cell': name, 'accuracy': r['accs'][0], 'epochs': E, 'train': 'Fashion-MNIST train (60 000 images)',
               'eval': {k: r[k] for k in ('protocol', 'net', 'metric', 'precision', 'accs', 'wall_s', 'settings')},
               'command': f"python scripts/results.py --full --full_epochs {E} --precision {args.precision} --seeds {s}", 'env': env_info()}
        atomic_json(out/f"{name}.json", rec)
        print(f"{name}: {r['accs'][0]:.2f}%  ({sum(r['wall_s']):.0f} s)", flush=True)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--ipcs', type=int, nargs='+', default=[1, 10, 50])
    p.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--sweep', choices=['lambda', 'stop_t', 'cfg'])
    p.add_argument('--values', type=float, nargs='+', help='with --sweep: only these values (default: all of the sweep)')
    p.add_argument('--epochs', type=int, default=None, help='evaluation epochs (default: the protocol\'s 1000)')
    p.add_argument('--out', default=str(ROOT/'results'/'fmnist'))
    p.add_argument('--model', default=None, help='generator directory for the generator methods (default: the shipped model); '
                   'a cell made with other weights is skipped, or recomputed with --recompute')
    p.add_argument('--recompute', action='store_true', help='replace the cells of generator methods made with other weights')
    p.add_argument('--metrics_only', action='store_true', help='only add set metrics to finished cells that lack them')
    p.add_argument('--precision', default='fp32', choices=['fp32', 'bf16'],
                   help='evaluation precision (bf16: autocast, ~1.8x faster on this CPU; see 08_evaluate)')
    p.add_argument('--full', action='store_true', help='the whole-dataset reference row (ConvNet-3 on all training images)')
    p.add_argument('--full_epochs', type=int, default=20, help='with --full: epochs (1000 epochs of 60 000 images is out of reach on a CPU)')
    args = p.parse_args()
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True); sets = sets_dir(out)
    train, test = load_fashion_mnist('train'), load_fashion_mnist('test')
    if args.full: return full_rows(args, train, test)
    from mgd3.distill import load_pipeline, weights_hash
    current = weights_hash(load_pipeline(args.model))   # cells of generator methods made with other weights are stale
    if args.metrics_only:
        for f in sorted(out.glob('*.json')):
            rec = json.loads(f.read_text())
            if 'metrics' in rec or rec['distill']['config']['ipc'] < 2: continue
            if is_stale(rec, current):
                print(f"{rec['cell']}: made with other model weights; recompute the cell first", flush=True); continue
            sdir = sets/rec['cell']
            distill(DistillConfig(**rec['distill']['config']), sdir, resume=True, progress=False, data=train)
            rec['metrics'] = cell_metrics(sdir, train)
            atomic_json(f, rec); print(f"{rec['cell']}: {rec['metrics']}", flush=True)
        return
    for name, kw in cells(args):
        f = out/f"{name}.json"
        if f.exists():
            old = json.loads(f.read_text())
            if old['eval'].get('precision', 'fp32') != args.precision:
                print(f"{name}: in {out} with precision {old['eval'].get('precision', 'fp32')}, not {args.precision}; skipped", flush=True)
                continue
            if not is_stale(old, current): continue
            if not args.recompute:
                print(f"{name}: in {out} made with other generator weights; skipped (another --out, or --recompute to replace it)", flush=True)
                continue
            print(f"{name}: made with other model weights, recomputing", flush=True)
            import shutil; shutil.rmtree(sets/name, ignore_errors=True)
            state_path(name, args.precision, sets).unlink(missing_ok=True)
        t0 = time.time()
        cfg = DistillConfig(**kw, model=args.model) if kw['method'] in ('dit', 'mgd3') else DistillConfig(**kw)
        sdir = sets/name
        man = distill(cfg, sdir, resume=True, progress=False, data=train)
        t_dist = time.time() - t0
        dset = align_classes(load_image_folder(sdir), test.classes, 'the distilled set')
        r = evaluate(dset, test, 'dc', runs=1, seed=cfg.seed, epochs=args.epochs, progress=False,
                     state_file=state_path(name, args.precision, sets), precision=args.precision)
        rec = {'cell': name, 'distill': man['settings'], 'modes_hash': man.get('modes_hash'), 'distill_s': round(t_dist, 1),
               'accuracy': r['accs'][0], 'eval': {k: r[k] for k in ('protocol', 'net', 'metric', 'precision', 'accs', 'wall_s', 'settings')},
               'command': f"python scripts/results.py --precision {args.precision}" + (f" --model {args.model}" if args.model else '')
                          + (f" --out {args.out}" if sets != SETS else '')
                          + f"  # cell {name}", 'env': env_info()}
        rec['metrics'] = cell_metrics(sdir, train)
        atomic_json(out/f"{name}.json", rec)
        print(f"{name}: {r['accs'][0]:.2f}%  (distill {t_dist:.0f} s, eval {sum(r['wall_s']):.0f} s)", flush=True)

if __name__ == '__main__':
    from mgd3.core import MGD3Error
    try: main()
    except MGD3Error as e: raise SystemExit(f"error: {e}")
