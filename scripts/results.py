#!/usr/bin/env python
"""Compute the Fashion-MNIST results table cell by cell (the command line of mgd3.results, nbs/10_results.ipynb; walkthrough: nbs/tutorials/results.ipynb):
distil with mgd3_distill's code path, evaluate with ConvNet-3 under the DC/DSA protocol (1000 epochs), one run per
(IPC, method, seed), the network seeded with the distillation seed (run i trains on the set of seed i, as the paper does).

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
import argparse
from pathlib import Path
from mgd3.results import METHODS, IPCS, SEEDS, SWEEPS, table_cells, sweep_cells, run_cells, add_metrics, run_full

ROOT = Path(__file__).resolve().parent.parent

def parser()->argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--ipcs', type=int, nargs='+', default=list(IPCS))
    p.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    p.add_argument('--seeds', type=int, nargs='+', default=list(SEEDS))
    p.add_argument('--sweep', choices=list(SWEEPS))
    p.add_argument('--values', type=float, nargs='+', help='with --sweep: only these values (default: all of the sweep)')
    p.add_argument('--epochs', type=int, default=None, help='evaluation epochs (default: the protocol\'s 1000)')
    p.add_argument('--out', default=str(ROOT/'results'/'fmnist'))
    p.add_argument('--model', default=None, help='generator directory for the generator methods (default: the shipped model); '
                   'a cell made with other weights is skipped, or recomputed with --recompute')
    p.add_argument('--recompute', action='store_true', help='replace the cells of generator methods made with other weights')
    p.add_argument('--metrics_only', action='store_true', help='only add set metrics to finished cells that lack them')
    p.add_argument('--precision', default='fp32', choices=['fp32', 'bf16'],
                   help='evaluation precision (bf16: autocast, ~1.8x faster on this CPU; see mgd3.evaluate)')
    p.add_argument('--full', action='store_true', help='the whole-dataset reference row (ConvNet-3 on all training images)')
    p.add_argument('--full_epochs', type=int, default=20, help='with --full: epochs (1000 epochs of 60 000 images is out of reach on a CPU)')
    return p

def cells(args)->list:
    "The (name, settings) of the cells the arguments ask for."
    return sweep_cells(args.sweep, args.values, args.methods, args.seeds) if args.sweep else table_cells(args.ipcs, args.methods, args.seeds)

def command(args)->str:
    "The command recorded with each cell: how to run it again."
    default_out = Path(args.out).resolve() == (ROOT/'results'/'fmnist').resolve()
    return (f"python scripts/results.py --precision {args.precision}" + (f" --model {args.model}" if args.model else '')
            + (f" --out {args.out}" if not default_out else ''))

def say(line:str): print(line, flush=True)   # runs in the background write to a log file

def main(argv=None):
    args = parser().parse_args(argv)
    from mgd3.data import load_fashion_mnist
    train = load_fashion_mnist('train')
    if args.metrics_only: return add_metrics(args.out, train, args.model, log=say)
    test = load_fashion_mnist('test')
    if args.full: return run_full(ROOT/'results'/'fmnist-full', train, test, args.seeds, args.full_epochs, args.precision, progress=True, log=say)
    run_cells(cells(args), args.out, train, test, args.model, args.precision, args.epochs, args.recompute, command=command(args), log=say)

if __name__ == '__main__':
    from mgd3.core import MGD3Error
    try: main()
    except MGD3Error as e: raise SystemExit(f"error: {e}")
