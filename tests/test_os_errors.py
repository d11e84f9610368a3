"""Errors from the operating system — a full disk, permission denied, a read-only file system, a file where a folder
should be — are one line on stderr naming the path and what to do next, a non-zero exit and no traceback, at any point
of any command; finished files stay whole, and after a full disk `--resume` finishes the job exactly.

The faults are injected (tests/faults.py) so that no real full disk is needed; one test fills a real, small tmpfs
where the machine allows mounting one."""
import errno, json, os, shutil, subprocess, sys
from pathlib import Path
import pytest
from PIL import Image
from mgd3.core import tiny_images, tiny_dit
from mgd3.data import ImageSet, to_uint8, save_image_folder
from conftest import save_model

HERE = Path(__file__).parent

@pytest.fixture(scope='module')
def work(tmp_path_factory):
    "A tiny ImageFolder (6 classes), a tiny generator for it, and a clean distillation to compare with."
    root = tmp_path_factory.mktemp('oserr')
    x, y, names = tiny_images(n_per_class=4, num_classes=6, size=8)
    save_image_folder(ImageSet(to_uint8(x), y, names), root/'data')
    save_model(root/'model', tiny_dit(num_classes=6), names)
    r = _run(root, 'mgd3_distill', '--out', root/'clean', *_distill_args(root))
    assert r.returncode == 0, r.stderr
    return root

def _distill_args(root): return ['--data', root/'data', '--model', root/'model', '--ipc', '3', '--num_inference_steps', '4', '--stop_t', '2',
                                 '--batch_size', '3', '--quiet']

def _run(root, tool, *args, fault=None, match=None, timeout=300):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'MGD3_OFFLINE': '1'}
    env.pop('MGD3_FAULT', None); env.pop('MGD3_FAULT_MATCH', None)
    if fault: env['MGD3_FAULT'] = fault
    if match: env['MGD3_FAULT_MATCH'] = match
    return subprocess.run([sys.executable, str(HERE/'faults.py'), tool, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=root)

def assert_clean_error(r, *needles):
    "One error line on stderr (progress bars aside), a non-zero exit, no traceback."
    lines = [l for l in r.stderr.splitlines() if l.strip() and '%|' not in l and 'it/s]' not in l]
    assert r.returncode != 0 and 'Traceback' not in r.stderr, r.stderr
    assert len(lines) == 1, r.stderr
    for n in needles: assert n in lines[0], lines[0]

def _pngs(d): return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(Path(d).rglob('*.png'))}

def _whole(d):
    "Every file in `d` is a finished one: PNGs decode, the manifest parses, no temporary file is left."
    for p in Path(d).rglob('*'):
        assert '.tmp' not in p.name, p
        if p.suffix == '.png': Image.open(p).load()
        if p.name == 'manifest.json': json.loads(p.read_text())

def test_distill_disk_full_then_resume(work):
    out = work/'full'
    r = _run(work, 'mgd3_distill', '--out', out, *_distill_args(work), fault='ENOSPC:7:fsync', match='.png')
    assert_clean_error(r, 'no space left on the device', 'free some space, then re-run the same command with --resume', str(out))
    assert r.returncode == 1
    _whole(out)
    done = _pngs(out)
    assert 0 < len(done) < len(_pngs(work/'clean'))                 # it stopped part-way ...
    assert all(_pngs(work/'clean')[k] == v for k, v in done.items())  # ... and what it finished is whole and right
    r = _run(work, 'mgd3_distill', '--out', out, *_distill_args(work), '--resume')
    assert r.returncode == 0, r.stderr
    assert _pngs(out) == _pngs(work/'clean')                         # --resume finishes the same set

def test_distill_manifest_write_fails(work):
    r = _run(work, 'mgd3_distill', '--out', work/'man', *_distill_args(work), fault='ENOSPC:1:fsync', match='manifest')
    assert_clean_error(r, str(work/'man'/'manifest.json'), 'no space left')
    _whole(work/'man')

def test_distill_permission_denied(work):
    r = _run(work, 'mgd3_distill', '--out', work/'perm', *_distill_args(work), fault='EACCES:0:open', match='perm')
    assert_clean_error(r, 'permission denied', str(work/'perm'))
    assert r.returncode == 1

def test_distill_read_only_file_system(work):
    r = _run(work, 'mgd3_distill', '--out', work/'ro', *_distill_args(work), fault='EROFS:0:open', match='/ro/')
    assert_clean_error(r, 'read-only file system; choose a path on a writable disk', str(work/'ro'))

def test_distill_reading_data_denied(work):
    "A read error is one line too (the data folder's images, opened for reading)."
    shutil.copytree(work/'data', work/'data2')
    bad = next((work/'data2').rglob('*.png')); bad.unlink(); bad.mkdir()   # a folder where an image file should be
    r = _run(work, 'mgd3_distill', '--out', work/'rd', '--data', work/'data2', '--model', work/'model', '--ipc', '1', '--num_inference_steps', '2', '--quiet')
    assert r.returncode != 0 and 'Traceback' not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr

def test_out_below_a_file(work):
    (work/'afile').write_text('x')
    r = _run(work, 'mgd3_distill', '--out', work/'afile'/'sub', *_distill_args(work))
    assert_clean_error(r, str(work/'afile'))

def test_eval_json_disk_full(work):
    r = _run(work, 'mgd3_eval', work/'clean', '--test', work/'clean', '--epochs', '1', '--runs', '1', '--device', 'cpu',
             '--json', work/'eval.json', fault='ENOSPC:0:fsync', match='eval.json')
    assert_clean_error(r, 'no space left', str(work/'eval.json'))
    assert not (work/'eval.json').exists()

def test_eval_json_below_a_file(work):
    (work/'afile2').write_text('x')
    r = _run(work, 'mgd3_eval', work/'clean', '--test', work/'clean', '--epochs', '1', '--runs', '1', '--device', 'cpu',
             '--json', work/'afile2'/'eval.json')
    assert_clean_error(r, str(work/'afile2'))

def test_pretrain_disk_full(work):
    run = work/'pre'
    args = ['--out', run, '--data', work/'data', '--preset', 'tiny', '--batch_size', '4', '--steps', '2']
    r = _run(work, 'mgd3_pretrain', *args, fault='ENOSPC:0:safetensors')
    if r.returncode == 0: r = _run(work, 'mgd3_pretrain', *args, fault='ENOSPC:0:fsync', match='checkpoint')
    assert_clean_error(r, 'no space left', '--resume')

def test_pretrain_final_model_disk_full(work):
    "The last write of mgd3_pretrain is diffusers' save_pretrained (safetensors, in Rust)."
    run = work/'pre2'
    args = ['--out', run, '--data', work/'data', '--preset', 'tiny', '--batch_size', '4', '--steps', '2']
    r = _run(work, 'mgd3_pretrain', *args, fault='ENOSPC:0:safetensors', match='model')
    assert_clean_error(r, 'no space left', '--resume')
    r = _run(work, 'mgd3_pretrain', *args, '--resume')
    assert r.returncode == 0, r.stderr
    assert (run/'model'/'transformer'/'config.json').exists()

def _mount_tmpfs(d, size):
    d.mkdir()
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', str(d)], capture_output=True)
    return r.returncode == 0

def test_real_full_tmpfs_then_resume(work, tmp_path):
    "A real small file system that fills up half-way (needs root and mount; skipped elsewhere)."
    mnt = tmp_path/'mnt'
    if os.geteuid() != 0 or shutil.which('mount') is None or not _mount_tmpfs(mnt, '48k'): pytest.skip('cannot mount a tmpfs here')
    try:
        r = _run(work, 'mgd3_distill', '--out', mnt/'out', *_distill_args(work))
        assert_clean_error(r, 'no space left on the device', '--resume')
        _whole(mnt/'out')
        assert all(_pngs(work/'clean')[k] == v for k, v in _pngs(mnt/'out').items())
        subprocess.run(['mount', '-o', 'remount,size=4m', str(mnt)], check=True)
        r = _run(work, 'mgd3_distill', '--out', mnt/'out', *_distill_args(work), '--resume')
        assert r.returncode == 0, r.stderr
        assert _pngs(mnt/'out') == _pngs(work/'clean')
    finally: subprocess.run(['umount', str(mnt)])
