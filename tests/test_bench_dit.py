"""scripts/bench_dit.py runs (CPU path, tiny preset) and its FLOP counts agree with an independent count."""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def test_bench_dit_cpu(run_cli, tmp_path):
    r = run_cli(sys.executable, str(ROOT/'scripts'/'bench_dit.py'), '--device', 'cpu', '--preset', 'tiny', '--decode',
                '--json_out', str(tmp_path/'b.json'), timeout=120)
    assert r.returncode == 0, r.stderr
    b = json.loads((tmp_path/'b.json').read_text())
    assert b['images_per_s'] > 0 and b['matmul_peak_tflops'] > 0 and b['decode_images_per_s'] > 0
    # the FLOPs per image, counted independently: one real sampling run of one image on the same structure
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from torch.nn.attention import sdpa_kernel, SDPBackend
    from mgd3.dit import make_dit, dit_scheduler
    from mgd3.pipeline import ModeGuidedDiTPipeline
    pipe = ModeGuidedDiTPipeline(make_dit('tiny', in_channels=4, sample_size=32, num_classes=1000).eval(), dit_scheduler())
    pipe.set_progress_bar_config(disable=True)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc:
        pipe([0], num_inference_steps=b['steps'], generator=0, output_type='latent')
    assert abs(fc.get_total_flops() / 1e12 - b['tflop_per_image']) < 0.01 * b['tflop_per_image']
    assert abs(b['achieved_tflops'] / b['images_per_s'] - fc.get_total_flops() / 1e12) < 0.01 * b['tflop_per_image']
    assert 'images/s' in r.stdout and 'of the matmul peak' in r.stdout

def test_dit_xl_forward_flops():
    "DiT-XL/2 at 256x256: 237.3 GFLOP per image forward (2 x the DiT paper's 118.6 G multiply-adds), counted on the meta device."
    from mgd3.benchmark import forward_flops
    f = forward_flops('DiT-XL/2', (4, 32, 32), 1000)
    assert abs(f / 1e9 - 237.3) < 0.1
