"""scripts/bench_dit.py runs (CPU path, tiny preset) and its FLOP counts agree with counts made independently of it:
a count by hand from the DiT's architecture, and the FLOPs torch counts in a real sampling run."""
import json, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

def dit_forward_flops(num_layers, num_attention_heads, attention_head_dim, patch_size, C=4, S=32)->int:
    "FLOPs (2 per multiply-add) of one diffusers DiT forward of one C x S x S latent, counted by hand from the architecture."
    D = num_attention_heads * attention_head_dim; T = (S // patch_size) ** 2    # width, tokens
    emb = 256 * D + D * D                       # sinusoidal timestep features -> 2-layer MLP (each adaLN-Zero block has its own)
    block = (emb + D * 6 * D                    # adaLN modulation: shift, scale, gate for attention and MLP
             + 3 * T * D * D + 2 * T * T * D + T * D * D   # q, k, v; q·k and attention·v; output projection
             + 2 * T * D * 4 * D)               # MLP D -> 4D -> D
    head = emb + D * 2 * D + T * D * patch_size ** 2 * 2 * C   # final adaLN (shift, scale) and the projection to 2C channels
    return 2 * (T * C * patch_size ** 2 * D + num_layers * block + head)   # + the patch embedding

def test_hand_count_is_the_dit_papers():
    "DiT-XL/2 at 256x256: the DiT paper's 118.6 G multiply-adds per forward, i.e. 237.3 GFLOP."
    assert abs(dit_forward_flops(28, 16, 72, 2) / 2e9 - 118.6) < 0.1

def test_dit_xl_forward_flops():
    "mgd3.benchmark.forward_flops (FlopCounterMode on the meta device) equals the count by hand, for every preset."
    from mgd3.benchmark import forward_flops
    from mgd3.dit import DIT_PRESETS
    for p, cfg in DIT_PRESETS.items():
        assert forward_flops(p, (4, 32, 32), 1000) == dit_forward_flops(**cfg), p

def test_bench_dit_cpu(run_cli, tmp_path):
    r = run_cli(sys.executable, str(ROOT/'scripts'/'bench_dit.py'), '--device', 'cpu', '--preset', 'tiny', '--decode', '--n_images', '2',
                '--n_batch1', '1', '--json_out', str(tmp_path/'b.json'), '--text_out', str(tmp_path/'b.txt'), timeout=120)
    assert r.returncode == 0, r.stderr
    b = json.loads((tmp_path/'b.json').read_text())
    from mgd3.dit import DIT_PRESETS
    F = dit_forward_flops(**DIT_PRESETS['tiny'])
    assert b['forward_gflop_per_image'] * 1e9 == pytest.approx(F, rel=1e-12)
    assert b['tflop_per_image'] * 1e12 == pytest.approx(b['steps'] * 2 * F, rel=1e-12)     # 2 forwards a step (CFG)
    # the same, counted by torch in a real sampling run of one image on the same structure
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from torch.nn.attention import sdpa_kernel, SDPBackend
    from mgd3.dit import make_dit, dit_scheduler
    from mgd3.core import tiny_vae
    from mgd3.pipeline import ModeGuidedDiTPipeline
    pipe = ModeGuidedDiTPipeline(make_dit('tiny', in_channels=4, sample_size=32, num_classes=1000).eval(), dit_scheduler(), vae=tiny_vae(in_channels=3))
    pipe.set_progress_bar_config(disable=True)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc:
        lat = pipe([0], num_inference_steps=b['steps'], generator=0, output_type='latent').images
    assert fc.get_total_flops() == pytest.approx(b['tflop_per_image'] * 1e12, rel=1e-9)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fd: pipe.decode_latents(lat)
    assert fd.get_total_flops() == pytest.approx(b['decode_tflop_per_image'] * 1e12, rel=1e-9)
    g = b['cases']['batched_guided']
    assert b['achieved_tflops'] == pytest.approx(g['images'] * (fc.get_total_flops() + fd.get_total_flops()) / g['seconds'] / 1e12, rel=1e-6)
    assert b['fraction_of_matmul_peak'] == pytest.approx(b['achieved_tflops'] / b['matmul_peak_tflops'])
    assert (b['device'].startswith('cpu'), b['n_images'], b['n_batch1'], b['image_size']) == (True, 2, 1, 64)
    assert 'images/s' in r.stdout and 'of the matmul peak' in r.stdout and (tmp_path/'b.txt').read_text().strip() == r.stdout.strip()

def test_bench_dit_bad_input(run_cli):
    from conftest import assert_clean_error
    assert_clean_error(run_cli(sys.executable, str(ROOT/'scripts'/'bench_dit.py'), '--device', 'cpu', '--preset', 'huge'), "unknown --preset 'huge'")
    assert_clean_error(run_cli(sys.executable, str(ROOT/'scripts'/'bench_dit.py'), '--device', 'cpu', '--n_images', '3', '--batch_size', '2'),
                       'must be a multiple of --batch_size 2')
