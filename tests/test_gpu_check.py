"""scripts/gpu_check.sh runs on the CPU with a tiny model (--tiny, in seconds) and writes a table whose numbers agree with
each other and with FLOP counts made independently of it (by hand, from the architecture)."""
import json, os, sys
from pathlib import Path
import pytest
from test_bench_dit import dit_forward_flops

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(scope='module')
def check(tmp_path_factory):
    import subprocess
    out = tmp_path_factory.mktemp('gpu_check')
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'PYTHON': sys.executable, 'OUT': str(out)}
    r = subprocess.run(['bash', str(ROOT/'scripts'/'gpu_check.sh'), '--tiny'], capture_output=True, text=True, timeout=180, env=env, cwd='/')
    return r, out

def test_runs_and_writes_json_and_text(check):
    r, out = check
    assert r.returncode == 0, r.stdout + r.stderr
    assert (out/'gpu_check.json').is_file() and (out/'gpu_check.txt').is_file()
    assert f"{out}/gpu_check.json" in r.stdout                       # written to $OUT
    t = (out/'gpu_check.txt').read_text()
    for s in ('batched pipeline, mode-guided', 'batch-1 loop', 'of the matmul peak', 'target images_per_s >= 8',
              'target batching_speedup >= 10', 'target guidance_overhead_pct <= 5', '#| cuda cells: skipped (--tiny)'):
        assert s in t, s

def test_numbers_agree(check):
    r, out = check
    b = json.loads((out/'gpu_check.json').read_text())
    assert (b['preset'], b['dtype'], b['decode'], b['steps'], b['guidance_scale'], b['stop_t']) == ('tiny', 'float32', True, 3, 4.0, 1)
    assert (b['n_images'], b['batch_size'], b['n_batch1'], b['cuda_cells'], b['peak_memory_gib']) == (4, 2, 2, 'skipped (--tiny)', None)
    c = b['cases']
    assert [v['images'] for v in c.values()] == [4, 4, 2, 4]
    for v in c.values(): assert v['images_per_s'] == pytest.approx(v['images'] / v['seconds'], rel=1e-12) and v['seconds'] > 0
    g, u, one, bare = c['batched_guided'], c['batched_unguided'], c['batch1_guided'], c['bare_forwards']
    assert b['images_per_s'] == g['images_per_s'] and b['batch1_images_per_s'] == one['images_per_s']
    assert b['batching_speedup'] == pytest.approx((4 / g['seconds']) / (2 / one['seconds']), rel=1e-9)
    assert b['guidance_overhead_pct'] == pytest.approx(100 * (g['seconds'] / u['seconds'] - 1), rel=1e-9)
    assert b['sampler_overhead_pct'] == pytest.approx(100 * (g['seconds'] / bare['seconds'] - 1), rel=1e-9)
    from mgd3.dit import DIT_PRESETS
    F = dit_forward_flops(**DIT_PRESETS['tiny'])                        # one forward of a 4x32x32 latent, by hand
    assert b['tflop_per_image'] * 1e12 == pytest.approx(3 * 2 * F, rel=1e-12)
    assert b['bare_forward_tflops'] * 1e12 == pytest.approx(4 * 3 * 2 * F / bare['seconds'], rel=1e-9)
    assert b['achieved_tflops'] * 1e12 == pytest.approx(4 * (3 * 2 * F + b['decode_tflop_per_image'] * 1e12) / g['seconds'], rel=1e-9)
    assert b['decode_tflop_per_image'] > 0 and b['matmul_peak_tflops'] > 0
    assert b['fraction_of_matmul_peak'] == pytest.approx(b['achieved_tflops'] / b['matmul_peak_tflops'], rel=1e-12)
    assert [(t['what'], t['op'], t['target'], t['met']) for t in b['targets']] == [
        ('images_per_s', '>=', 8.0, None), ('batching_speedup', '>=', 10.0, None), ('guidance_overhead_pct', '<=', 5.0, None)]   # n/a on a CPU
    assert [t['value'] for t in b['targets']] == [b['images_per_s'], b['batching_speedup'], b['guidance_overhead_pct']]
    assert b['all_targets_met'] is None
