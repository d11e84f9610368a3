"""Reliability of the command-line tools: bad input, interruption, concurrency, reproducibility, resumption.

Bad input must give a non-zero exit, one line on stderr naming the problem, no traceback, and leave --out as it was
(not created if it did not exist, unchanged if it did). Everything runs on a tiny random DiT and tiny ImageFolders.
Most commands run through the warm `fork_cli` (one import, one fork per command, see forkcli.py); the tests that
kill a run start the real console script with `subprocess.Popen`.
"""
import hashlib, json, os, re, shutil, signal, subprocess, sys
from pathlib import Path
import pytest
import torch
from PIL import Image
from conftest import assert_clean_error
from forkcli import wait_for
from mgd3.core import tiny_images, tiny_dit
from mgd3.data import ImageSet, to_uint8, save_image_folder, save_png, load_image_folder
from conftest import save_model

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'MGD3_OFFLINE': '1'}
def script(name):
    "The installed console script `name` (next to this Python, else on PATH)."
    p = Path(sys.executable).parent/name
    return str(p) if p.exists() else shutil.which(name)

def make_tiny(root, num_classes=3, n_per_class=6, size=8, seed=0, model_seed=0):
    "root/data (an ImageFolder) and root/model (a random tiny DiT that knows its class names)."
    x, y, names = tiny_images(n_per_class=n_per_class, num_classes=num_classes, size=size, seed=seed)
    save_image_folder(ImageSet(to_uint8(x), y, names), Path(root)/'data')
    save_model(Path(root)/'model', tiny_dit(num_classes=num_classes, sample_size=size, seed=model_seed), names)
    return names

def dargs(root, out, **opts):
    "mgd3_distill arguments for the tiny setup in `root`; an option set to None is left out."
    o = dict(data=Path(root)/'data', model=Path(root)/'model', ipc=2, num_inference_steps=4, stop_t=2) | opts
    a = [] if out is None else ['--out', str(out)]
    for k, v in o.items():
        if v is not None: a += [f'--{k}', str(v)]
    return [*a, '--quiet']

def state(d):
    "Every path under `d` (hidden ones included) with its content hash; None if `d` does not exist."
    d = Path(d)
    if not d.exists(): return None
    return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else 'dir'
            for p in sorted(d.rglob('*'))}

def pngs(d): return {k: v for k, v in state(d).items() if k.endswith('.png')}
def manifest(d): return json.loads((Path(d)/'manifest.json').read_text())

def n_done(d):
    try: return sum(c['done'] for c in manifest(d)['classes'])
    except (OSError, ValueError, KeyError): return 0

# ---------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def tiny(tmp_path_factory, fork_cli):
    "The tiny setup, broken variants of it, and a finished run (seed 7) in R/finished."
    R = tmp_path_factory.mktemp('tiny')
    names = make_tiny(R)
    (R/'emptydata').mkdir()
    shutil.copytree(R/'data', R/'emptyclass'); [f.unlink() for f in (R/'emptyclass'/'class_1').iterdir()]
    shutil.copytree(R/'data', R/'corrupt'); (R/'corrupt'/'class_1'/'002.png').write_bytes(b'this is not a PNG')
    shutil.copytree(R/'data', R/'mixed')
    x16, _, _ = tiny_images(n_per_class=1, num_classes=1, size=16); save_png(to_uint8(x16)[0], R/'mixed'/'class_2'/'006.png')
    x16, y16, _ = tiny_images(n_per_class=6, num_classes=3, size=16); save_image_folder(ImageSet(to_uint8(x16), y16, names), R/'data16')
    shutil.copytree(R/'data', R/'collide'); shutil.copytree(R/'data'/'class_2', R/'collide'/'class?2')
    (R/'m_empty').mkdir()
    (R/'m_json').mkdir(); (R/'m_json'/'config.json').write_text('{"hello": "world"}')
    (R/'m_badcfg'/'transformer').mkdir(parents=True); (R/'m_badcfg'/'transformer'/'config.json').write_text('{"hello": 1}')
    save_model(R/'m_othernames', tiny_dit(num_classes=4), ['cat', 'dog', 'cow', 'owl'])
    save_model(R/'m_noinfo5', tiny_dit(num_classes=5))   # no class names
    shutil.copytree(R/'model', R/'m_trunc')
    w = R/'m_trunc'/'transformer'/'diffusion_pytorch_model.safetensors'; b = w.read_bytes(); w.write_bytes(b[:len(b)//2])
    save_model(R/'model_b', tiny_dit(num_classes=3, seed=1), names)   # same classes, other weights
    r = fork_cli('mgd3_distill', *dargs(R, R/'finished', seed=7))
    assert r.returncode == 0, r.stderr
    return R

BAD = {  # id: (options, the words the error line must contain)
    'missing data dir':       (lambda R: dict(data=R/'nope'), 'does not exist'),
    'empty data dir':         (lambda R: dict(data=R/'emptydata'), 'has no class sub-folders'),
    'empty class folder':     (lambda R: dict(data=R/'emptyclass'), 'holds no images'),
    'corrupt image':          (lambda R: dict(data=R/'corrupt'), 'cannot read image'),
    'mixed image sizes':      (lambda R: dict(data=R/'mixed'), 'images differ in size'),
    'ipc 0':                  (lambda R: dict(ipc=0), '--ipc must be a positive'),
    'ipc negative':           (lambda R: dict(ipc=-3), '--ipc must be a positive'),
    'ipc > class mgd3':       (lambda R: dict(ipc=7), 'fewer than --ipc 7'),
    'ipc > class random':     (lambda R: dict(ipc=7, method='random'), 'fewer than --ipc 7'),
    'ipc > class kmeans_real':(lambda R: dict(ipc=7, method='kmeans_real'), 'fewer than --ipc 7'),
    'unknown method':         (lambda R: dict(method='gan'), "unknown --method 'gan'"),
    'unknown modes':          (lambda R: dict(modes='dbscan'), "unknown --modes 'dbscan'"),
    'unknown subset':         (lambda R: dict(subset='imagenet5'), "unknown --subset 'imagenet5'"),
    'unknown sampler':        (lambda R: dict(sampler='euler'), "unknown --sampler 'euler'"),
    'stop_t -1':              (lambda R: dict(stop_t=-1), '--stop_t must lie in 0..4'),
    'stop_t > steps':         (lambda R: dict(stop_t=5), '--stop_t must lie in 0..4'),
    'steps 0':                (lambda R: dict(num_inference_steps=0, stop_t=0), '--num_inference_steps must be a positive'),
    'negative lambda':        (lambda R: dict(mode_guidance_scale=-0.1), '--mode_guidance_scale must be >= 0'),
    'negative cfg':           (lambda R: dict(guidance_scale=-1), '--guidance_scale must be >= 0'),
    'modes_random_state -1':  (lambda R: dict(modes_random_state=-1), '--modes_random_state must be an integer in 0..4294967295'),
    'batch_size 0':           (lambda R: dict(batch_size=0), '--batch_size must be positive'),
    'model dir missing':      (lambda R: dict(model=R/'nomodel'), 'does not exist'),
    'model dir empty':        (lambda R: dict(model=R/'m_empty'), 'no model found (it holds no model); looked for'),
    'model dir random json':  (lambda R: dict(model=R/'m_json'), 'no model found (it holds no model); looked for'),
    'model config garbage':   (lambda R: dict(model=R/'m_badcfg'), 'cannot load the model'),
    'model other classes':    (lambda R: dict(model=R/'m_othernames'), 'the model does not know class(es) class_0'),
    'model class count':      (lambda R: dict(model=R/'m_noinfo5'), 'the model has 5 classes but the data has 3'),
    'model weights truncated':(lambda R: dict(model=R/'m_trunc'), 'cannot load the model'),
    'model image size':       (lambda R: dict(data=R/'data16'), 'the model generates 1x8x8 images'),
    'model image size dit':   (lambda R: dict(data=R/'data16', method='dit'), 'the model generates 1x8x8 images'),
    'class folder collision': (lambda R: dict(data=R/'collide'), "both map to the folder name 'class_2'"),
}

@pytest.mark.parametrize('case', BAD, ids=list(BAD))
def test_bad_input(fork_cli, tiny, tmp_path, case):
    opts, needle = BAD[case]
    # a new --out (and its missing parent) is not created
    r = fork_cli('mgd3_distill', *dargs(tiny, tmp_path/'new'/'out', **opts(tiny)))
    assert_clean_error(r, needle)
    assert not (tmp_path/'new').exists()
    # an --out holding a finished run is untouched, even with --overwrite
    d = tmp_path/'old'; shutil.copytree(tiny/'finished', d); before = state(d)
    assert_clean_error(fork_cli('mgd3_distill', *dargs(tiny, d, **opts(tiny)), '--overwrite'), needle)
    assert state(d) == before

def test_missing_out(fork_cli, tiny):
    assert_clean_error(fork_cli('mgd3_distill', *dargs(tiny, None)), '--out is required')

def test_out_is_a_file(fork_cli, tiny, tmp_path):
    f = tmp_path/'afile'; f.write_text('mine')
    assert_clean_error(fork_cli('mgd3_distill', *dargs(tiny, f)), 'is a file')
    assert f.read_text() == 'mine'

# ---------------------------------------------------------------------------------------------------------------------
# --out holding something already

def test_out_holding_another_run(fork_cli, tiny, tmp_path):
    d = tmp_path/'d'; shutil.copytree(tiny/'finished', d); before = state(d)   # seed 7
    assert_clean_error(fork_cli('mgd3_distill', *dargs(tiny, d)), 'already holds a distilled set', '--resume', '--overwrite')
    assert_clean_error(fork_cli('mgd3_distill', *dargs(tiny, d), '--resume'), 'options seed differ')
    assert_clean_error(fork_cli('mgd3_distill', *dargs(tiny, d, seed=7, model=tiny/'model_b'), '--resume'), 'options model differ')
    assert state(d) == before
    # same settings: --resume finds nothing to do and changes no image
    r = fork_cli('mgd3_distill', *dargs(tiny, d, seed=7), '--resume'); assert r.returncode == 0, r.stderr
    assert pngs(d) == pngs(tiny/'finished') and manifest(d)['status'] == 'complete'
    # --overwrite replaces it: the result is that of a run into a new directory
    r = fork_cli('mgd3_distill', *dargs(tiny, d), '--overwrite'); assert r.returncode == 0, r.stderr
    r = fork_cli('mgd3_distill', *dargs(tiny, tmp_path/'ref')); assert r.returncode == 0, r.stderr
    assert state(d) .keys() == state(tmp_path/'ref').keys() and pngs(d) == pngs(tmp_path/'ref')

def test_resume_refuses_other_weights_under_the_same_path(fork_cli, tiny, tmp_path):
    "The manifest records the weights' hash: a model replaced in place is noticed."
    m = tmp_path/'model'; shutil.copytree(tiny/'model', m)
    d = tmp_path/'d'; assert fork_cli('mgd3_distill', *dargs(tiny, d, model=m)).returncode == 0
    shutil.rmtree(m); shutil.copytree(tiny/'model_b', m); before = state(d)
    assert_clean_error(fork_cli('mgd3_distill', *dargs(tiny, d, model=m), '--resume'), 'data or model weights differ')
    assert state(d) == before

def test_out_holding_unrelated_files(fork_cli, tiny, tmp_path):
    d = tmp_path/'d'; (d/'photos').mkdir(parents=True)
    (d/'notes.txt').write_text('mine'); shutil.copy(tiny/'data'/'class_0'/'000.png', d/'photos'/'000.png')
    before = state(d)
    for flag in ([], ['--resume'], ['--overwrite']):
        assert_clean_error(fork_cli('mgd3_distill', *dargs(tiny, d), *flag), 'holds no mgd3 manifest')
        assert state(d) == before

@pytest.mark.parametrize('text', ['{"classes": [', '[]', '{"no": "classes"}'], ids=['truncated', 'list', 'no classes'])
def test_unreadable_manifest(fork_cli, tiny, tmp_path, text):
    d = tmp_path/'d'; shutil.copytree(tiny/'finished', d); (d/'manifest.json').write_text(text); before = state(d)
    for flag in ([], ['--resume'], ['--overwrite']):
        assert_clean_error(fork_cli('mgd3_distill', *dargs(tiny, d), *flag), 'is not a readable mgd3 manifest')
        assert state(d) == before

def test_overwrite_deletes_only_run_files(fork_cli, tiny, tmp_path):
    "--overwrite keeps files a run did not write, and never follows a manifest's folder names out of --out."
    d = tmp_path/'d'; shutil.copytree(tiny/'finished', d)
    (d/'notes.txt').write_text('mine'); (d/'class_0'/'notes.txt').write_text('mine')
    for v in ('victim1', 'victim2'): (tmp_path/v).mkdir(); (tmp_path/v/'000.png').write_bytes(b'keep me')
    m = manifest(d); m['classes'][1]['dir'] = '../victim1'; m['classes'][2]['dir'] = str(tmp_path/'victim2')
    (d/'manifest.json').write_text(json.dumps(m))
    r = fork_cli('mgd3_distill', *dargs(tiny, d), '--overwrite'); assert r.returncode == 0, r.stderr
    assert (d/'notes.txt').read_text() == 'mine' and (d/'class_0'/'notes.txt').read_text() == 'mine'
    for v in ('victim1', 'victim2'): assert (tmp_path/v/'000.png').read_bytes() == b'keep me'
    assert manifest(d)['settings']['config']['seed'] == 0

# ---------------------------------------------------------------------------------------------------------------------
# interruption

def test_kill_and_resume_is_byte_identical(fork_cli, tmp_path):
    "SIGKILL a real mgd3_distill after it finished some classes; --resume gives exactly the files of an uninterrupted run."
    make_tiny(tmp_path, num_classes=6)
    for steps in (60, 240, 960):   # more work if the run ends before we can kill it
        opts = dict(ipc=4, num_inference_steps=steps, stop_t=steps // 2, batch_size=4)   # one class per sampling batch
        out = tmp_path/f'out{steps}'
        p = subprocess.Popen([script('mgd3_distill'), *dargs(tmp_path, out, **opts)], env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: p.poll() is not None or n_done(out) >= 1, timeout=300)
            p.send_signal(signal.SIGKILL)
        finally: err = p.communicate()[1]
        if p.returncode == -signal.SIGKILL and 1 <= n_done(out) < 6: break
        assert p.returncode in (0, -signal.SIGKILL), err
    else: pytest.fail('the run always finished before it could be killed')
    # the killed run left finished classes complete, a manifest that says so, and its (stale) lock
    m = manifest(out); assert m['status'] == 'running'
    assert (out/'.mgd3.lock').read_text().split()[0] == str(p.pid)
    for c in m['classes']:
        if c['done']: assert sorted(f.name for f in (out/c['dir']).iterdir()) == c['files'] == [f"{k:03d}.png" for k in range(4)]
    for f in out.rglob('*.png'): Image.open(f).verify()   # whatever was written is a whole image
    # the stale lock does not block --resume
    r = fork_cli('mgd3_distill', *dargs(tmp_path, out, **opts), '--resume'); assert r.returncode == 0, r.stderr
    r = fork_cli('mgd3_distill', *dargs(tmp_path, tmp_path/'ref', **opts)); assert r.returncode == 0, r.stderr
    assert state(out).keys() == state(tmp_path/'ref').keys()   # same files, no lock or temporary file left
    assert pngs(out) == pngs(tmp_path/'ref') and len(pngs(out)) == 24
    a, b = manifest(out), manifest(tmp_path/'ref')
    assert a['status'] == 'complete' and a['settings'] == b['settings'] and a['modes_hash'] == b['modes_hash']
    strip = lambda m: [{k: v for k, v in c.items() if k != 'seconds'} for c in m['classes']]
    assert strip(a) == strip(b)

def test_ctrl_c_before_the_first_class_leaves_no_trace(fork_cli, tmp_path):
    make_tiny(tmp_path, num_classes=6)
    (tmp_path/'empty').mkdir()
    for out, expect in ((tmp_path/'new'/'out', None), (tmp_path/'empty', {})):
        pid = fork_cli.start('mgd3_distill', *dargs(tmp_path, out, ipc=4, num_inference_steps=400, stop_t=200, batch_size=4))
        assert wait_for(lambda: (out/'.mgd3.lock').exists(), timeout=120)
        os.kill(pid, signal.SIGINT)
        r = fork_cli.wait(pid)
        assert r.returncode == 130 and 'interrupted' in r.stderr, r.stderr
        if n_done(out): continue   # (a very slow machine finished a class first: that class is kept)
        assert state(tmp_path/'new' if expect is None else out) == expect

# ---------------------------------------------------------------------------------------------------------------------
# concurrency

def test_second_writer_is_refused(fork_cli, tmp_path):
    make_tiny(tmp_path, num_classes=6)
    for steps in (100, 400, 1600):   # more work if the first run ends before we can stop it
        d = tmp_path/f'd{steps}'; opts = dict(ipc=4, num_inference_steps=steps, stop_t=steps // 2, batch_size=4)
        pid = fork_cli.start('mgd3_distill', *dargs(tmp_path, d, **opts))
        wait_for(lambda: (d/'.mgd3.lock').exists(), timeout=120)
        os.kill(pid, signal.SIGSTOP)    # the first writer holds the lock while we try a second one
        if (d/'.mgd3.lock').exists(): break
        os.kill(pid, signal.SIGCONT); fork_cli.wait(pid)
    else: pytest.fail('the first run always ended before it could be stopped')
    try:
        before = state(d)
        for flag in ([], ['--resume'], ['--overwrite']):
            r = fork_cli('mgd3_distill', *dargs(tmp_path, d, **opts), *flag)
            assert_clean_error(r, f'another mgd3 process (pid {pid}', f'is writing {d}')
        assert state(d) == before
    finally: os.kill(pid, signal.SIGCONT)
    r = fork_cli.wait(pid); assert r.returncode == 0, r.stderr
    assert manifest(d)['status'] == 'complete' and len(pngs(d)) == 24 and not (d/'.mgd3.lock').exists()

# ---------------------------------------------------------------------------------------------------------------------
# reproducibility and the manifest

@pytest.mark.parametrize('method', ['mgd3', 'dit', 'random', 'kmeans_real'])
def test_same_seed_same_bytes(fork_cli, tiny, tmp_path, method):
    for d in 'ab': assert fork_cli('mgd3_distill', *dargs(tiny, tmp_path/d, method=method)).returncode == 0
    assert state(tmp_path/'a').keys() == state(tmp_path/'b').keys() and pngs(tmp_path/'a') == pngs(tmp_path/'b')
    if method != 'kmeans_real':   # k-means on 6 points per class may find the same clusters from any seed
        assert fork_cli('mgd3_distill', *dargs(tiny, tmp_path/'c', method=method, seed=1)).returncode == 0
        a, c = pngs(tmp_path/'a'), pngs(tmp_path/'c')
        assert a.keys() == c.keys() and a != c
        if method != 'random': assert all(a[k] != c[k] for k in a)   # new noise for every image

def test_manifest_records_everything(fork_cli, tiny, tmp_path):
    from importlib.metadata import version
    from safetensors.torch import load_file
    d = tmp_path/'d'; assert fork_cli('mgd3_distill', *dargs(tiny, d)).returncode == 0
    m = manifest(d)
    assert {k: m['env'][k] for k in ('torch', 'diffusers', 'mgd3')} == {k: version(k) for k in ('torch', 'diffusers', 'mgd3')}
    assert m['settings']['config'] == dict(method='mgd3', ipc=2, seed=0, modes='kmeans', modes_random_state=None, modes_flip=False,
                                           mode_guidance_scale=0.1, stop_t=2,
                                           guidance_scale=4.0, num_inference_steps=4, sampler='ddpm', data=str(tiny/'data'), subset=None,
                                           size=None, model=str(tiny/'model'), vae=None, precision='fp32',
                                           stop_timestep=None, prompt_template=None, prompts=None, negative_prompt=None,
                                           output_size=None, posterior=None)   # Stable Diffusion's options: unset
    assert m['settings']['batch_size'] == 256
    data = load_image_folder(tiny/'data')
    assert m['settings']['data_fingerprint'] == data.fingerprint()
    # the weights hash, computed independently from the safetensors file
    w = load_file(tiny/'model'/'transformer'/'diffusion_pytorch_model.safetensors'); h = hashlib.sha256()
    for k in sorted(w): h.update(k.encode()); h.update(w[k].float().numpy().tobytes())
    assert m['settings']['model_hash'] == h.hexdigest()[:16]
    # the modes hash, computed independently: sklearn's k-means (random_state = the seed) on each class's pixels, hashed
    # as the manifest defines it (per class: sha256 of "label:shape;" and the float32 centroids; then of the '|'-joined hashes)
    from sklearn.cluster import KMeans
    from mgd3.data import to_float
    hs = []
    for c in range(3):
        M = KMeans(n_clusters=2, random_state=0, n_init='auto').fit(to_float(data.x[data.y == c]).reshape(-1, 64).numpy()).cluster_centers_
        hs.append(hashlib.sha256(f"{c}:(2, 1, 8, 8);".encode() + M.astype('float32').tobytes()).hexdigest()[:16])
    assert m['modes_hash'] == hashlib.sha256('|'.join(hs).encode()).hexdigest()[:16]
    assert m['status'] == 'complete'
    for c in m['classes']: assert c['done'] and c['files'] == sorted(f.name for f in (d/c['dir']).iterdir())
    # another model: another weights hash, the same modes (found in pixel space); another mode discovery: other modes
    assert fork_cli('mgd3_distill', *dargs(tiny, tmp_path/'e', model=tiny/'model_b')).returncode == 0
    e = manifest(tmp_path/'e')
    assert e['settings']['model_hash'] != m['settings']['model_hash'] and e['modes_hash'] == m['modes_hash']
    assert fork_cli('mgd3_distill', *dargs(tiny, tmp_path/'f', modes='random')).returncode == 0
    assert manifest(tmp_path/'f')['modes_hash'] != m['modes_hash']
    # the original code's mode discovery: other modes (mirrored images), recorded as such
    r = fork_cli('mgd3_distill', *dargs(tiny, tmp_path/'g', seed=5, modes_random_state=0), '--modes_flip'); assert r.returncode == 0, r.stderr
    g = manifest(tmp_path/'g')
    assert (g['settings']['config']['modes_flip'], g['settings']['config']['modes_random_state']) == (True, 0) and g['modes_hash'] != m['modes_hash']

# ---------------------------------------------------------------------------------------------------------------------
# mgd3_pretrain: kill, resume, refuse other settings

def test_pretrain_kill_and_resume(fork_cli, tiny, tmp_path):
    from safetensors.torch import load_file
    args = ['--preset', 'tiny', '--data', tiny/'data', '--steps', '400', '--checkpoint_minutes', '0.001', '--batch_size', '4']
    run = tmp_path/'run'
    for attempt in range(3):
        shutil.rmtree(run, ignore_errors=True)
        p = subprocess.Popen([script('mgd3_pretrain'), '--out', run, *args], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: p.poll() is not None or (run/'checkpoint.json').exists(), timeout=300)
        p.send_signal(signal.SIGKILL); p.wait()
        ck = run/'checkpoint.json'
        if p.returncode == -signal.SIGKILL and ck.exists() and json.loads(ck.read_text())['step'] < 400: break
    else: pytest.fail('the training always finished before it could be killed')
    r = fork_cli('mgd3_pretrain', '--out', run, *args, '--resume'); assert r.returncode == 0, r.stderr
    assert 'after 400 steps' in r.stdout
    ck = json.loads((run/'checkpoint.json').read_text())
    assert ck['step'] == 400 and [e['step'] for e in ck['log']] == [100, 200, 300, 400]
    assert json.loads((run/'model'/'mgd3.json').read_text())['record']['steps'] == 400
    # the resumed model is the uninterrupted one
    r = fork_cli('mgd3_pretrain', '--out', tmp_path/'full', *args); assert r.returncode == 0, r.stderr
    wa, wb = (load_file(d/'model'/'transformer'/'diffusion_pytorch_model.safetensors') for d in (run, tmp_path/'full'))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    # a checkpoint made with other settings is refused, before any weights are loaded
    before = state(run)
    assert_clean_error(fork_cli('mgd3_pretrain', '--out', run, *args, '--resume', '--lr', '0.0003'), 'options --lr differ')
    assert_clean_error(fork_cli('mgd3_pretrain', '--out', run, *args, '--resume', '--preset', 'fmnist'), 'options --preset differ')
    assert_clean_error(fork_cli('mgd3_pretrain', '--out', run, *args, '--resume', '--data', tiny/'data16'), 'data differ')
    assert_clean_error(fork_cli('mgd3_pretrain', '--out', run, *args, '--resume', '--vlb_weight', '0'), 'options --vlb_weight differ')
    assert_clean_error(fork_cli('mgd3_pretrain', '--out', run, *args, '--resume', '--init', 'dit'), 'options --init differ')
    assert state(run) == before

def test_pretrain_out_is_a_file(fork_cli, tiny, tmp_path):
    f = tmp_path/'afile'; f.write_text('mine')
    r = fork_cli('mgd3_pretrain', '--out', f, '--preset', 'tiny', '--data', tiny/'data', '--steps', '2', '--batch_size', '4')
    assert_clean_error(r, 'is a file'); assert f.read_text() == 'mine'

def test_pretrain_negative_vlb_weight(fork_cli, tiny, tmp_path):
    r = fork_cli('mgd3_pretrain', '--out', tmp_path/'run', '--preset', 'tiny', '--data', tiny/'data', '--steps', '2', '--vlb_weight', '-1')
    assert_clean_error(r, '--vlb_weight must be 0 or positive'); assert not (tmp_path/'run').exists()

def test_pretrain_unknown_init(fork_cli, tiny, tmp_path):
    r = fork_cli('mgd3_pretrain', '--out', tmp_path/'run', '--preset', 'tiny', '--data', tiny/'data', '--steps', '2', '--init', 'zeros')
    assert_clean_error(r, "unknown --init 'zeros'"); assert not (tmp_path/'run').exists()

def test_pretrain_dit_init_is_recorded(fork_cli, tiny, tmp_path):
    r = fork_cli('mgd3_pretrain', '--out', tmp_path/'run', '--preset', 'tiny', '--data', tiny/'data', '--steps', '2',
                 '--batch_size', '4', '--init', 'dit')
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path/'run'/'model'/'mgd3.json').read_text())['record']['config']['init'] == 'dit'

# ---------------------------------------------------------------------------------------------------------------------
# mgd3_eval --resume: finished runs are skipped (test_eval_cli checks that a complete resume gives the same numbers)

def test_eval_resume_skips_finished_runs(fork_cli, tiny, tmp_path):
    x, y, names = tiny_images(n_per_class=3, num_classes=3, size=8, seed=5)
    save_image_folder(ImageSet(to_uint8(x), y, names), tmp_path/'test')
    j, st = tmp_path/'eval.json', tmp_path/'eval.json.state'
    def eargs(epochs=2): return [tiny/'data', '--test', tmp_path/'test', '--epochs', epochs, '--runs', '2', '--device', 'cpu', '--json', j]
    args = eargs()
    r = fork_cli('mgd3_eval', *args); assert r.returncode == 0, r.stderr
    accs = json.loads(j.read_text())['accs']
    s = json.loads(st.read_text()); assert sorted(s['runs']) == ['0', '1']
    # as if stopped after run 1 (with a marker accuracy no training gives): --resume reuses run 1 and trains run 2
    s['runs']['0']['acc'] = 12.345; del s['runs']['1']; st.write_text(json.dumps(s))
    r = fork_cli('mgd3_eval', *args, '--resume'); assert r.returncode == 0, r.stderr
    assert 'run 1: 12.35%' in r.stdout and json.loads(j.read_text())['accs'] == [12.345, accs[1]]
    assert sorted(json.loads(st.read_text())['runs']) == ['0', '1']
    # a state file of other settings, or an unreadable one, is refused
    before = state(tmp_path)
    assert_clean_error(fork_cli('mgd3_eval', *eargs(3), '--resume'), 'was written for other settings')
    assert state(tmp_path) == before
    st.write_text('{"settings": '); before = state(tmp_path)
    assert_clean_error(fork_cli('mgd3_eval', *args, '--resume'), 'cannot read state file')
    assert state(tmp_path) == before
    # without --resume the state is discarded and every run is trained again
    r = fork_cli('mgd3_eval', *args); assert r.returncode == 0, r.stderr
    assert json.loads(j.read_text())['accs'] == accs

def test_eval_resumes_a_killed_run(fork_cli, tiny, tmp_path):
    "SIGKILL in the middle of a run, then --resume: it continues from the run checkpoint and ends where an uninterrupted run ends."
    x, y, names = tiny_images(n_per_class=3, num_classes=3, size=8, seed=5)
    save_image_folder(ImageSet(to_uint8(x), y, names), tmp_path/'test')
    j, ck = tmp_path/'eval.json', tmp_path/'eval.json.state.run0.safetensors'
    args = [tiny/'data', '--test', tmp_path/'test', '--epochs', '400', '--runs', '1', '--device', 'cpu', '--json', j, '--checkpoint_minutes', '0']
    for _ in range(3):
        p = subprocess.Popen([script('mgd3_eval'), *map(str, args)], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: p.poll() is not None or ck.exists(), timeout=300)
        p.send_signal(signal.SIGKILL); p.wait()
        if p.returncode == -signal.SIGKILL and ck.exists() and not j.exists(): break
    else: pytest.fail('the evaluation always finished before it could be killed')
    from mgd3.core import read_record
    at = read_record(ck, 'mgd3_run')['epoch']   # the epoch the killed run's checkpoint holds
    assert 0 < at < 400
    r = fork_cli('mgd3_eval', *args, '--resume'); assert r.returncode == 0, r.stderr
    resumed = json.loads(j.read_text())['runs'][0]
    assert resumed['resumed_from'] == at and not ck.exists()
    # without --resume the run starts again from epoch 0, and ends with the same loss and accuracy
    r = fork_cli('mgd3_eval', *args); assert r.returncode == 0, r.stderr
    fresh = json.loads(j.read_text())['runs'][0]
    assert fresh['resumed_from'] == 0 and (fresh['loss'], fresh['acc']) == (resumed['loss'], resumed['acc'])
    assert_clean_error(fork_cli('mgd3_eval', *args[:-1], '-1'), '--checkpoint_minutes must not be negative')
