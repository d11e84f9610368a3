"""scripts/bench_dit.py runs (CPU path, tiny preset) and reports consistent numbers."""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def test_bench_dit_cpu(run_cli, tmp_path):
    r = run_cli(sys.executable, str(ROOT/'scripts'/'bench_dit.py'), '--device', 'cpu', '--preset', 'tiny', '--decode',
                '--json_out', str(tmp_path/'b.json'), timeout=120)
    assert r.returncode == 0, r.stderr
    b = json.loads((tmp_path/'b.json').read_text())
    assert b['images_per_s'] > 0 and b['matmul_peak_tflops'] > 0 and b['decode_images_per_s'] > 0
    assert abs(b['tflop_per_image'] - b['steps'] * 2 * b['forward_gflop_per_image'] / 1e3) < 1e-9
    assert abs(b['achieved_tflops'] - b['images_per_s'] * b['tflop_per_image']) < 1e-6 * b['achieved_tflops']
    assert 'images/s' in r.stdout and 'of the matmul peak' in r.stdout

def test_dit_xl_forward_flops():
    "DiT-XL/2 at 256x256: 237.3 GFLOP per image forward (2 x the DiT paper's 118.6 G multiply-adds), counted on the meta device."
    sys.path.insert(0, str(ROOT/'scripts'))
    from bench_dit import forward_flops
    f = forward_flops('DiT-XL/2', (4, 32, 32), 1000)
    assert abs(f / 1e9 - 237.3) < 0.1
