#!/usr/bin/env python
"""Throughput of mgd3's mode-guided sampler at paper scale: the DiT-XL/2 structure with RANDOM weights (the speed of a
transformer does not depend on its weights), 4x32x32 latents (256x256 images), classifier-free guidance 4 and mode
guidance batched over images, per-image noise generators, 50 DDPM steps, guidance until t_stop = 25, and (--decode)
an sd-vae-ft-mse-shaped VAE decoding the samples. It is the measuring half of scripts/gpu_check.sh.

The arithmetic (all FLOP counts: torch.utils.flop_counter.FlopCounterMode, 2 FLOPs per multiply-add, attention
counted through PyTorch's math SDPA kernel; the DiT paper's "118.6 Gflops" for DiT-XL/2 are multiply-adds):

    one DiT-XL/2 forward, one 256x256 image  F   = 237.3 GFLOP      (256 tokens, 28 blocks, width 1152)
    one image = 50 steps x 2 forwards (CFG)  100 F = 23.7 TFLOP
    1000 images (ImageNet-100 at IPC 10)       = 23.7 PFLOP
    VAE (sd-vae structure) decode / encode     = 0.62 / 0.27 TFLOP per image  (decoding adds 2.6 %)

    paper: 1000 images in 0.42 h = 1512 s on one RTX A5000, mode discovery included
           -> 0.66 images/s, >= 15.7 TFLOP/s (the official sampler runs one image, batch 2 with CFG, at a time)
    target: 1000 images in < 120 s on one H100 -> >= 8.3 images/s -> >= 198 TFLOP/s sustained,
           about 20 % of the H100 SXM's 989 TFLOP/s dense bf16 peak (26 % of the PCIe card's 756)

Mode discovery is a separate, one-off cost per dataset (its latents are cached, see mgd3_distill --cache_dir):
encoding ImageNet-100's ~130 000 training images is 130 000 x 0.27 TFLOP = 35 PFLOP, more than sampling 1000 images,
plus the JPEG decoding on the CPU.

What is measured, in one run on one device (mgd3.benchmark.benchmark_sampler, the cases interleaved, best of --repeats):
  - a dense matmul in the benchmark's dtype (8192^3 on CUDA, 1024^3 on CPU): the achievable peak FLOP/s;
  - the mode-guided pipeline on n_images (classes x modes) in batches: images/s, achieved FLOP/s and that as a fraction
    of the matmul peak; the same unguided (the cost of mode guidance); a batch-1 loop as the official sampler runs;
  - the bare transformer forwards the sampler makes (2 x batch per step): the sampler's overhead over them;
  - the peak GPU memory; and the targets: >= 8 images/s (H100-class GPU), batched >= 10x batch size 1,
    mode guidance <= 5 % over unguided sampling.

CUDA (the paper-scale run; bf16 weights, SDPA attention = flash attention on H100, optional torch.compile):
    python scripts/bench_dit.py --decode                     # DiT-XL/2, bf16, 128 images in batches of 64
    python scripts/bench_dit.py --compile --decode --json_out bench.json --text_out bench.txt
CPU (a quick check of the same code path on a small preset; always finishes in well under a minute):
    OMP_NUM_THREADS=1 python scripts/bench_dit.py --device cpu  # DiT-S/2 structure, 2 images, 3 steps, float32
"""
import math
import torch
from fastcore.script import call_parse, Param, store_true
from mgd3.core import cli, get_device, MGD3Error, atomic_json, env_info
from mgd3.benchmark import matmul_flops, forward_flops, vae_flops, benchmark_sampler, SD_VAE
from mgd3.dit import make_dit, dit_scheduler, DIT_PRESETS
from mgd3.pipeline import ModeGuidedDiTPipeline, parse_dtype

TARGETS = [('images_per_s', '>=', 8.0, 'images/s, batched, mode-guided, decoded (H100-class GPU)'),
           ('batching_speedup', '>=', 10.0, 'batched images/s / batch-1 images/s'),
           ('guidance_overhead_pct', '<=', 5.0, '% time of mode-guided over unguided sampling')]

def matmul_peak(dev, dtype):
    "The best of three n x n matmul loops in `dtype` (8192^3 x 20 on CUDA, 1024^3 x 3 on CPU): the achievable peak."
    n, iters = (8192, 20) if dev.type == 'cuda' else (1024, 3)
    return max(matmul_flops(n, iters, dev, dtype) for _ in range(3))

def decode_flops(vae, latent)->float:
    "FLOPs of decoding one latent of shape `latent` with an AutoencoderKL of `vae`'s structure (counted on the meta device)."
    cfg = {k: v for k, v in vae.config.items() if not k.startswith('_')}
    return vae_flops({**cfg, 'sample_size': latent[1] * 2 ** (len(cfg['block_out_channels']) - 1)})[1]

def results(rows, summary, F, dec, peak, steps)->dict:
    "The derived numbers of a benchmark_sampler run: images/s, FLOP/s against the matmul peak, overheads."
    g, u, one, bare = rows
    per_image = steps * 2 * F + dec
    res = {'cases': {k: {kk: r[kk] for kk in ('what', 'images', 'seconds', 'images_per_s')} for k, r in
                     zip(('batched_guided', 'batched_unguided', 'batch1_guided', 'bare_forwards'), rows)},
           'images_per_s': g['images_per_s'], 'batch1_images_per_s': one['images_per_s'],
           'batching_speedup': summary['speed-up of batching (x)'], 'guidance_overhead_pct': summary['cost of mode guidance (%)'],
           'sampler_overhead_pct': summary['sampler overhead over bare forwards (%)'],
           'tflop_per_image': steps * 2 * F / 1e12, 'decode_tflop_per_image': dec / 1e12,
           'achieved_tflops': g['images'] * per_image / g['seconds'] / 1e12,
           'bare_forward_tflops': bare['images'] * steps * 2 * F / bare['seconds'] / 1e12, 'matmul_peak_tflops': peak / 1e12}
    res['fraction_of_matmul_peak'] = res['achieved_tflops'] / res['matmul_peak_tflops']
    res['s_per_1000_images_at_50_steps'] = 1000 / res['images_per_s'] * 50 / steps
    return res

def check_targets(res, applicable:bool)->list:
    "Each target with its measured value and whether it is met (None where it does not apply: a tiny or CPU run)."
    ok = {'>=': lambda v, t: v >= t, '<=': lambda v, t: v <= t}
    return [{'what': k, 'value': res[k], 'op': op, 'target': t, 'about': about, 'met': ok[op](res[k], t) if applicable else None}
            for k, op, t, about in TARGETS]

def table(res)->str:
    "The results as text, the targets beside them."
    L = [f"{res['device']}: {res['preset']}, {res['dtype']}, compile={res['compile']}, {res['steps']} steps, CFG {res['guidance_scale']}, "
         f"{res['image_size']} px, decoding {'included' if res['decode'] else 'not included'}",
         f"  forward {res['forward_gflop_per_image']:.1f} GFLOP/image; one image = {res['tflop_per_image']:.3f} TFLOP sampling"
         f" + {res['decode_tflop_per_image']:.3f} decoding; matmul peak ({res['dtype']}) {res['matmul_peak_tflops']:.2f} TFLOP/s",
         f"  {'':62s} {'images':>6s} {'seconds':>9s} {'images/s':>9s}"]
    L += [f"  {c['what']:62s} {c['images']:6d} {c['seconds']:9.2f} {c['images_per_s']:9.2f}" for c in res['cases'].values()]
    L += [f"  mode-guided sampler: {res['achieved_tflops']:.2f} TFLOP/s = {100 * res['fraction_of_matmul_peak']:.1f} % of the matmul peak; "
          f"bare forwards {res['bare_forward_tflops']:.2f} TFLOP/s; sampler overhead over them {res['sampler_overhead_pct']:.1f} %",
          f"  1000 images at 50 steps: {res['s_per_1000_images_at_50_steps']:.0f} s; peak GPU memory: "
          + ('n/a (CPU)' if res['peak_memory_gib'] is None else f"{res['peak_memory_gib']:.1f} GiB")]
    for t in res['targets']:
        verdict = {True: 'met', False: 'NOT met', None: 'n/a here'}[t['met']]
        L.append(f"  target {t['what']} {t['op']} {t['target']:g} ({t['about']}): {t['value']:.2f} -> {verdict}")
    return '\n'.join(L)

@call_parse
@cli
def main(device:Param("cuda or cpu (default: best available)", str)=None,
         preset:Param("DiT structure: " + ", ".join(DIT_PRESETS) + " (default: DiT-XL/2 on CUDA, DiT-S/2 on CPU)", str)=None,
         n_images:Param("images to sample (classes x modes); default 128 on CUDA, 2 on CPU", int)=None,
         batch_size:Param("images per sampling batch (2x that with CFG); default 64 on CUDA, all on CPU", int)=None,
         n_batch1:Param("images of the batch-1 loop; default 4 on CUDA, 1 on CPU", int)=None,
         steps:Param("sampling steps (default 50 on CUDA, 3 on CPU)", int)=None,
         dtype:Param("transformer dtype: bf16, fp16, fp32 (default bf16 on CUDA, fp32 on CPU)", str)=None,
         compile:Param("torch.compile the transformer", store_true)=False,
         compile_mode:Param("torch.compile mode (default, max-autotune, ...)", str)='default',
         tf32:Param("allow TF32 matmuls (fp32 runs on CUDA)", store_true)=False,
         decode:Param("include VAE decoding (sd-vae-ft-mse structure on CUDA, a tiny VAE on CPU) in the pipeline's times", store_true)=False,
         repeats:Param("repeat each timing, keep the fastest", int)=None,
         json_out:Param("write the results to this JSON file", str)=None,
         text_out:Param("write the table to this text file", str)=None):
    "Images/s and FLOP/s of the mode-guided DiT sampler against the device's matmul peak, with the targets."
    from diffusers.utils import logging as dlog
    dlog.set_verbosity_error()
    dev = get_device(device); cuda = dev.type == 'cuda'
    preset = preset or ('DiT-XL/2' if cuda else 'DiT-S/2')
    if preset not in DIT_PRESETS: raise MGD3Error(f"unknown --preset {preset!r}: choose one of {', '.join(DIT_PRESETS)}")
    n = n_images or (128 if cuda else 2); bs = batch_size or (64 if cuda else n); n1 = n_batch1 or (4 if cuda else 1)
    steps = steps or (50 if cuda else 3); repeats = repeats or (2 if cuda else 1)
    dt = parse_dtype(dtype or ('bf16' if cuda else 'fp32'))
    if n % bs or n1 > n: raise MGD3Error(f"--n_images {n} must be a multiple of --batch_size {bs} (one compiled shape) and >= --n_batch1 {n1}")
    if cuda and tf32: torch.backends.cuda.matmul.allow_tf32 = True   # otherwise PyTorch's defaults, as mgd3_distill runs
    latent, K = (4, 32, 32), 1000
    torch.manual_seed(0)
    model = make_dit(preset, in_channels=latent[0], sample_size=latent[1], num_classes=K).to(dev, dt).eval()
    vae = None
    if decode:
        from diffusers import AutoencoderKL
        from mgd3.core import tiny_vae
        vae = AutoencoderKL(**SD_VAE) if cuda else tiny_vae(in_channels=3)
    pipe = ModeGuidedDiTPipeline(model, dit_scheduler(), vae=vae).to(dev)
    if vae is not None: pipe.vae.float().eval()   # as mgd3_distill runs it: the VAE in float32
    if compile: pipe.transformer.compile(mode=compile_mode)
    F, dec = forward_flops(preset, latent, K), decode_flops(vae, latent) if decode else 0.0
    peak = matmul_peak(dev, dt)
    if cuda: torch.cuda.reset_peak_memory_stats(dev)
    b = benchmark_sampler(pipe, n_images=n, steps=steps, batch_size=bs, device=dev, repeats=repeats, print_table=False, n_batch1=n1, decode=decode)
    res = {'device': torch.cuda.get_device_name(dev) if cuda else f"cpu ({torch.get_num_threads()} threads)", 'preset': preset,
           'dtype': str(dt).replace('torch.', ''), 'compile': compile and compile_mode, 'decode': bool(decode), 'steps': steps,
           'guidance_scale': pipe.defaults['guidance_scale'], 'mode_guidance_scale': 0.1, 'stop_t': steps // 2,
           'image_size': latent[1] * (2 ** (len(vae.config.block_out_channels) - 1) if vae is not None else 8),
           'n_images': n, 'batch_size': bs, 'n_batch1': n1, 'repeats': repeats, 'forward_gflop_per_image': F / 1e9,
           **results(b[:4], b[4], F, dec, peak, steps),
           'peak_memory_gib': torch.cuda.max_memory_allocated(dev) / 2**30 if cuda else None}
    paper = cuda and preset == 'DiT-XL/2' and steps == 50   # the targets are for the paper's cost on a GPU
    res['targets'] = check_targets(res, applicable=paper)
    res['all_targets_met'] = all(t['met'] for t in res['targets']) if paper else None
    text = table(res); print(text)
    if json_out: atomic_json(json_out, {**res, 'env': env_info()})
    if text_out:
        from pathlib import Path
        Path(text_out).write_text(text + '\n')
    return res
