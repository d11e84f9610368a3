#!/usr/bin/env python
"""Speed of mgd3's ModeGuidedDiTPipeline: batched vs a batch-1 loop (like the official sampler), cost of mode
guidance, and overhead over the bare transformer forward passes. Random `make_dit('fmnist')` weights (speed does
not depend on them). Example: OMP_NUM_THREADS=2 python scripts/bench_sampler.py --n_images 100 --steps 50"""
import json
from fastcore.script import Param
from mgd3.core import script
from mgd3.benchmark import benchmark_sampler

@script
def main(n_images:Param("images to sample (classes x modes)", int)=100,
         steps:Param("sampling steps", int)=50,
         batch_size:Param("batch size of the batched runs (default: all images)", int)=None,
         device:Param("cpu, cuda, mps (default: best available)", str)=None,
         repeats:Param("repeat each measurement, keep the fastest", int)=3,
         n_batch1:Param("images of the batch-1 loop (default: all images)", int)=None,
         json_out:Param("also write the results to this JSON file", str)=None):
    "Print a table of sampler timings."
    rows = benchmark_sampler(n_images=n_images, steps=steps, batch_size=batch_size, device=device, repeats=repeats, n_batch1=n_batch1)
    if json_out:
        from mgd3.core import atomic_json
        atomic_json(json_out, rows)
