"""mgd3_distill split over processes with accelerate (CPU, gloo): the same bytes as one process, resumable with any count."""
import json, shutil, socket, sys
from pathlib import Path
import pytest
import torch
from fake_imagenet import make_fake_imagenet, make_tiny_dit_xl, digest

def _port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from mgd3.pipeline import tiny_sd_vae_folder
    d = tmp_path_factory.mktemp('mp'); tiny_sd_vae_folder(d/'sd-vae-ft-mse')   # a local stand-in for the paper's VAE
    return d, make_fake_imagenet(d/'imagenet'/'train'), make_tiny_dit_xl(d/'DiT-XL-2-256')

def _args(d, inet, model, cache, batch_size=4):
    # batch 4 at IPC 2: chunks of two classes, five chunks (process 0 gets three, process 1 two)
    return ['--data', inet, '--subset', 'imagenette', '--size', '16', '--model', model, '--vae', d/'sd-vae-ft-mse', '--ipc', '2', '--num_inference_steps', '4',
            '--stop_t', '2', '--batch_size', str(batch_size), '--device', 'cpu', '--quiet', '--cache_dir', cache]

def _launch(run_cli, n, *args):
    "accelerate launch --multi_gpu --num_processes n --no_python mgd3_distill ... (on a CPU-only machine: torchrun + gloo)"
    return run_cli(sys.executable, '-m', 'accelerate.commands.launch', '--multi_gpu', '--num_processes', str(n),
                   '--main_process_port', str(_port()), '--no_python', str(Path(sys.executable).parent/'mgd3_distill'),
                   *map(str, args), timeout=240)

def test_two_processes_write_the_same_bytes(setup, run_cli):
    d, inet, model = setup
    # the one-process reference runs like the two processes (a subprocess with the same thread count: float sums,
    # hence latents and centroids, may round differently with another number of threads)
    r1 = run_cli('mgd3_distill', '--out', str(d/'one'), *map(str, _args(d, inet, model, d/'cache1')))
    assert r1.returncode == 0, r1.stderr
    r2 = _launch(run_cli, 2, '--out', d/'two', *_args(d, inet, model, d/'cache2'))
    assert r2.returncode == 0, r2.stderr
    assert '2 processes' in r2.stdout and r2.stdout.count('images in 10 classes') == 1   # process 0 reports
    one, two = digest(d/'one'), digest(d/'two')
    assert len(one) == 20 and one == two
    m1, m2 = (json.loads((d/x/'manifest.json').read_text()) for x in ('one', 'two'))
    assert m2['status'] == 'complete' and m2['processes'] == 2 and all(c['done'] for c in m2['classes'])
    # chunk j (two classes) is process j mod 2's: classes 0-1, 4-5, 8-9 process 0's, 2-3, 6-7 process 1's
    assert [c['process'] for c in m2['classes']] == [0, 0, 1, 1, 0, 0, 1, 1, 0, 0] and 'process' not in m1['classes'][0]
    assert m1['modes_hash'] == m2['modes_hash'] and m1['settings'] == m2['settings']
    assert [c['files'] for c in m1['classes']] == [c['files'] for c in m2['classes']]
    assert sorted(p.name for p in (d/'two').iterdir()) == sorted(p.name for p in (d/'one').iterdir())   # no lock, no parts left
    from safetensors.torch import load_file
    c1, c2 = ({p.name: load_file(p)['latents'] for p in sorted((d/c).glob('*.safetensors'))} for c in ('cache1', 'cache2'))
    assert len(c2) == 10 and c1.keys() == c2.keys() and all(torch.equal(c1[k], c2[k]) for k in c1)   # the same latents, each class once

def test_resume_with_another_process_count(setup, run_cli):
    """An interrupted 2-process run (process 1 finished class 3 but its part was not merged) is finished by one process,
    which takes class 3 from the part instead of sampling it again."""
    d, inet, model = setup
    if not (d/'one'/'manifest.json').exists(): pytest.skip('needs the reference run of the test above')
    shutil.copytree(d/'one', d/'cut')
    man = json.loads((d/'cut'/'manifest.json').read_text())
    part = {'classes': {'3': {k: man['classes'][3][k] for k in ('files', 'done', 'modes_hash')} | {'seconds': 12.345, 'process': 1}},
            'timings': {'sampling_s': 1.0}}   # a marker time no run measures
    for c in (1, 2, 3):
        man['classes'][c].update(done=False, files=[]); man['classes'][c].pop('modes_hash')
        if c != 3: shutil.rmtree(d/'cut'/man['classes'][c]['dir'])
    man['status'] = 'running'; man.pop('modes_hash')
    (d/'cut'/'manifest.json').write_text(json.dumps(man)); (d/'cut'/'.mgd3-parts').mkdir()
    (d/'cut'/'.mgd3-parts'/'rank1.json').write_text(json.dumps(part))
    c3 = d/'cut'/man['classes'][3]['dir']; written = {p.name: p.stat().st_mtime_ns for p in c3.iterdir()}
    r = run_cli('mgd3_distill', '--out', str(d/'cut'), '--resume', *map(str, _args(d, inet, model, d/'cache1')))
    assert r.returncode == 0, r.stderr
    assert digest(d/'cut') == digest(d/'one')
    m = json.loads((d/'cut'/'manifest.json').read_text())
    assert m['status'] == 'complete' and not (d/'cut'/'.mgd3-parts').exists()
    assert (m['classes'][3]['seconds'], m['classes'][3]['process']) == (12.345, 1)       # class 3 is the part's ...
    assert {p.name: p.stat().st_mtime_ns for p in c3.iterdir()} == written               # ... and was not written again
    assert [c['done'] for c in m['classes']] == [True] * 10 and 'processes' not in m
    assert m['modes_hash'] == json.loads((d/'one'/'manifest.json').read_text())['modes_hash']

def test_an_error_stops_every_process(setup, run_cli):
    d, inet, model = setup
    if not (d/'one'/'manifest.json').exists(): pytest.skip('needs the reference run of the first test')
    r = _launch(run_cli, 2, '--out', d/'one', *_args(d, inet, model, d/'cache1'))   # no --resume: refused by process 0
    assert r.returncode != 0
    assert 'already holds a distilled set' in r.stderr
    assert r.stderr.count('mgd3_distill: error:') == 2                 # both processes stop with process 0's one-line error
