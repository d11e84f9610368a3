#!/usr/bin/env python
"""Throughput of mgd3's mode-guided sampler at paper scale: the DiT-XL/2 structure with RANDOM weights (the speed of a
transformer does not depend on its weights), 4x32x32 latents (256x256 images), classifier-free guidance and mode
guidance batched over images, per-image noise generators, 50 DDPM steps, guidance until t_stop = 25.

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

What is measured, in one run on one device:
  - a dense matmul in the benchmark's dtype (8192^3 on CUDA, 1024^3 on CPU): the achievable peak FLOP/s;
  - the mode-guided pipeline on n_images (classes x modes) in batches: images/s, seconds per 1000 images,
    achieved FLOP/s = images/s x steps x 2 x F, and that as a fraction of the measured matmul peak;
  - the bare transformer forwards the sampler makes (2 x batch per step): the sampler's overhead over them;
  - optionally (--decode) the VAE decoding of the samples.

CUDA (the paper-scale run; bf16 weights, SDPA attention = flash attention on H100, optional torch.compile):
    python scripts/bench_dit.py                              # DiT-XL/2, bf16, 256 images in batches of 128
    python scripts/bench_dit.py --compile --decode --json bench.json
    python scripts/bench_dit.py --dtype fp16 --batch_size 64
CPU (a quick check of the same code path on a small preset; always finishes in well under a minute):
    OMP_NUM_THREADS=1 python scripts/bench_dit.py --device cpu  # DiT-S/2 structure, 2 images, 3 steps, float32
"""
import json, time, math
import torch
from fastcore.script import call_parse, Param, store_true
from mgd3.core import cli, get_device, sync_device, MGD3Error, atomic_json, env_info
from mgd3.benchmark import matmul_flops, forward_flops, vae_flops
from mgd3.dit import make_dit, dit_scheduler, DIT_PRESETS
from mgd3.pipeline import ModeGuidedDiTPipeline, parse_dtype

SD_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, down_block_types=['DownEncoderBlock2D'] * 4,
              up_block_types=['UpDecoderBlock2D'] * 4, block_out_channels=[128, 256, 512, 512], layers_per_block=2,
              sample_size=256, scaling_factor=0.18215)

def timed(f, dev, repeats=1):
    "Fastest of `repeats` runs of f(), in seconds."
    best = math.inf
    for _ in range(repeats):
        sync_device(dev); t0 = time.perf_counter(); f(); sync_device(dev); best = min(best, time.perf_counter() - t0)
    return best

def matmul_peak(dev, dtype):
    "The best of three n x n matmul loops in `dtype` (8192^3 x 20 on CUDA, 1024^3 x 3 on CPU): the achievable peak."
    n, iters = (8192, 20) if dev.type == 'cuda' else (1024, 3)
    return max(matmul_flops(n, iters, dev, dtype) for _ in range(3))

@call_parse
@cli
def main(device:Param("cuda or cpu (default: best available)", str)=None,
         preset:Param("DiT structure: " + ", ".join(DIT_PRESETS) + " (default: DiT-XL/2 on CUDA, DiT-S/2 on CPU)", str)=None,
         n_images:Param("images to sample (classes x modes); default 256 on CUDA, 2 on CPU", int)=None,
         batch_size:Param("images per sampling batch (2x that with CFG); default 128 on CUDA, all on CPU", int)=None,
         steps:Param("sampling steps (default 50 on CUDA, 3 on CPU)", int)=None,
         dtype:Param("transformer dtype: bf16, fp16, fp32 (default bf16 on CUDA, fp32 on CPU)", str)=None,
         compile:Param("torch.compile the transformer", store_true)=False,
         compile_mode:Param("torch.compile mode (default, max-autotune, ...)", str)='default',
         tf32:Param("allow TF32 matmuls (fp32 runs on CUDA)", store_true)=False,
         decode:Param("also time VAE decoding (sd-vae structure on CUDA)", store_true)=False,
         repeats:Param("repeat each timing, keep the fastest", int)=None,
         json_out:Param("write the results to this JSON file", str)=None):
    "Images/s and FLOP/s of the mode-guided DiT sampler against the device's matmul peak."
    from diffusers.utils import logging as dlog
    dlog.set_verbosity_error()
    dev = get_device(device); cuda = dev.type == 'cuda'
    preset = preset or ('DiT-XL/2' if cuda else 'DiT-S/2')
    if preset not in DIT_PRESETS: raise MGD3Error(f"unknown --preset {preset!r}: choose one of {', '.join(DIT_PRESETS)}")
    n = n_images or (256 if cuda else 2); bs = batch_size or (128 if cuda else n)
    steps = steps or (50 if cuda else 3); repeats = repeats or (2 if cuda else 1)
    dt = parse_dtype(dtype or ('bf16' if cuda else 'fp32'))
    if n % bs: raise MGD3Error(f"--n_images {n} must be a multiple of --batch_size {bs} (one compiled shape)")
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = bool(tf32)
    latent, K = (4, 32, 32), 1000
    torch.manual_seed(0)
    model = make_dit(preset, in_channels=latent[0], sample_size=latent[1], num_classes=K).to(dev, dt).eval()
    vae = None
    if decode:
        from diffusers import AutoencoderKL
        from mgd3.core import tiny_vae
        vae = AutoencoderKL(**SD_VAE) if cuda else tiny_vae(in_channels=3)
    pipe = ModeGuidedDiTPipeline(model, dit_scheduler(), vae=vae).to(dev)
    if vae is not None: pipe.vae.float()
    pipe.set_progress_bar_config(disable=True)
    if compile: pipe.transformer.compile(mode=compile_mode)
    y = torch.arange(n) % K                                         # n // K modes per class at most: every image its own mode
    modes = torch.randn(n, *latent, generator=torch.Generator().manual_seed(0))
    kw = dict(num_inference_steps=steps, stop_t=steps // 2, batch_size=bs, generator=0)

    F = forward_flops(preset, latent, K)
    peak = matmul_peak(dev, dt)
    t_warm = timed(lambda: pipe(y[:bs], modes=modes[:bs], **{**kw, 'num_inference_steps': 2, 'stop_t': 1}, output_type='latent'), dev)
    t_guided = timed(lambda: pipe(y, modes=modes, output_type='latent', **kw), dev, repeats)
    @torch.no_grad()
    def bare():
        x = torch.randn(2 * bs, *latent, device=dev, dtype=dt)
        yy = torch.cat([y[:bs], torch.full((bs,), K)]).to(dev); tt = torch.full((2 * bs,), 500, device=dev)
        for _ in range(n // bs):
            for _ in range(steps): model(x, tt, class_labels=yy)
    t_bare = timed(bare, dev, repeats)
    res = {'device': torch.cuda.get_device_name(dev) if cuda else f"cpu ({torch.get_num_threads()} threads)",
           'preset': preset, 'dtype': str(dt).replace('torch.', ''), 'compile': compile and compile_mode, 'n_images': n,
           'batch_size': bs, 'steps': steps, 'forward_gflop_per_image': F / 1e9,
           'tflop_per_image': steps * 2 * F / 1e12, 'matmul_peak_tflops': peak / 1e12,
           'warmup_s': t_warm, 'sampler_s': t_guided, 'images_per_s': n / t_guided,
           's_per_1000_images_at_50_steps': 1000 / (n / t_guided) * 50 / steps,
           'achieved_tflops': n * steps * 2 * F / t_guided / 1e12, 'bare_forwards_s': t_bare,
           'sampler_overhead_pct': 100 * (t_guided / t_bare - 1)}
    res['fraction_of_matmul_peak'] = res['achieved_tflops'] / res['matmul_peak_tflops']
    if decode:
        lat = pipe(y[:bs], modes=modes[:bs], output_type='latent', **{**kw, 'num_inference_steps': 1, 'stop_t': 0}).images
        t_dec = timed(lambda: pipe.decode_latents(lat, min(bs, 32)), dev, repeats)   # the pipeline decodes in batches of at most 32
        res['decode_images_per_s'] = bs / t_dec
        if cuda: res['vae_encode_gflop'], res['vae_decode_gflop'] = [f / 1e9 for f in vae_flops(SD_VAE)]
    print(f"{res['device']}: {preset}, {res['dtype']}, compile={res['compile']}, {n} images, batch {bs} (x2 CFG), {steps} steps")
    print(f"  forward: {F/1e9:.1f} GFLOP/image; one image = {steps} x 2 forwards = {res['tflop_per_image']:.3f} TFLOP")
    print(f"  matmul peak ({res['dtype']}): {res['matmul_peak_tflops']:.2f} TFLOP/s")
    print(f"  mode-guided sampler: {t_guided:.2f} s -> {res['images_per_s']:.2f} images/s, "
          f"{res['achieved_tflops']:.2f} TFLOP/s = {100*res['fraction_of_matmul_peak']:.1f} % of the matmul peak")
    print(f"  1000 images at 50 steps: {res['s_per_1000_images_at_50_steps']:.0f} s; "
          f"sampler overhead over the bare forwards: {res['sampler_overhead_pct']:.1f} %")
    if decode: print(f"  VAE decode: {res['decode_images_per_s']:.1f} images/s")
    if json_out: atomic_json(json_out, {**res, 'env': env_info()})
    return res
