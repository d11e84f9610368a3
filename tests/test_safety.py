"""Safety: class names cannot make mgd3 write outside --out, the library never unpickles, and a writer that loses the
race for the lock leaves the winner's directory alone."""
import os, re, socket
from pathlib import Path
import pytest
from mgd3.core import tiny_images, tiny_dit, MGD3Error
from mgd3.data import ImageSet, to_uint8, save_image_folder, safe_name, load_image_folder
from conftest import save_model

TRICKY = ['../../etc/passwd', '/abs', 'a/b', '..', '.', '.hidden', '', ' ', 'a\\b', 'a\x00b', 'C:\\x', '~root', '\u202e']

@pytest.mark.parametrize('name', TRICKY, ids=[ascii(n) for n in TRICKY])
def test_safe_name_stays_in_the_folder(name, tmp_path):
    s = safe_name(name)
    assert s and '/' not in s and '\\' not in s and '\x00' not in s and not s.startswith('.') and s == s.strip()
    assert (tmp_path/s).resolve().parent == tmp_path.resolve()
    assert safe_name(s) == s   # idempotent: a sanitised name is its own folder name

def test_safe_name_keeps_harmless_names():
    for n in ['a..b', 'x y', 'café', 'T-shirt (top), 2+1', 'n01440764']: assert safe_name(n) == n

def _tree(d): return sorted(p.relative_to(d).as_posix() for p in Path(d).rglob('*'))

def test_class_names_write_inside_out(fork_cli, tmp_path):
    "ImageFolder classes with dots, spaces, unicode and shell characters, and a model whose class names are path tricks."
    folders = ['a..b', 'x y', 'café', 'q?uestion', '_.._etc_passwd', '_abs']
    model_names = ['a..b', 'x y', 'café', 'q?uestion', '../../etc/passwd', '/abs']   # matched to the folders by safe_name
    x, y, _ = tiny_images(n_per_class=3, num_classes=len(folders), size=8)
    root = tmp_path/'work'; save_image_folder(ImageSet(to_uint8(x), y, folders), root/'data')
    save_model(root/'model', tiny_dit(num_classes=len(folders)), model_names)
    before = _tree(tmp_path)
    r = fork_cli('mgd3_distill', '--out', root/'out', '--data', root/'data', '--model', root/'model', '--ipc', '2',
                 '--num_inference_steps', '4', '--stop_t', '2', '--quiet', cwd=root)
    assert r.returncode == 0, r.stderr
    out = (root/'out').resolve()
    new = [p for p in _tree(tmp_path) if p not in before]
    assert new and all(p == 'work/out' or p.startswith('work/out/') for p in new), new   # nothing written elsewhere
    for p in out.rglob('*'): assert out in p.resolve().parents
    classes = sorted(load_image_folder(root/'data').classes)
    assert sorted(d.name for d in out.iterdir() if d.is_dir()) == sorted(safe_name(c) for c in classes)
    back = load_image_folder(out)   # the result reads back as an ImageFolder with 2 images per class
    assert back.counts() == [2] * len(folders)

def test_no_pickle_in_the_library():
    "Weights, caches and states are safetensors + JSON: nothing in mgd3 may unpickle."
    import mgd3
    bad = re.compile(r'\bpickle\b|\bcPickle\b|\bjoblib\b|\bdill\b|torch\.load\s*\(|allow_pickle\s*=\s*True|weights_only\s*=\s*False|\bshelve\b')
    files = sorted(Path(mgd3.__file__).parent.glob('*.py'))
    assert len(files) >= 10
    hits = [f"{f.name}:{i}: {l.strip()}" for f in files for i, l in enumerate(f.read_text().splitlines(), 1) if bad.search(l)]
    assert not hits, hits

def test_losing_the_lock_race_leaves_the_winner_alone(tmp_path, monkeypatch):
    "Another writer creates --out and takes the lock between our checks and our lock: we refuse and delete nothing."
    import subprocess, sys, mgd3.distill as md, mgd3.runs as runs
    x, y, names = tiny_images(n_per_class=4, num_classes=2, size=8)
    save_image_folder(ImageSet(to_uint8(x), y, names), tmp_path/'data')
    save_model(tmp_path/'model', tiny_dit(num_classes=2), names)
    out = tmp_path/'new'/'out'
    other = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])   # a live pid for the other writer
    real_enter = runs.DirLock.__enter__
    def racing_enter(self):   # the other writer wins just before we try the lock
        out.mkdir(parents=True); (out/'.mgd3.lock').write_text(f"{other.pid} {socket.gethostname()}")
        (out/'manifest.json').write_text('{"classes": []}')   # what it has written so far
        return real_enter(self)
    monkeypatch.setattr(runs.DirLock, '__enter__', racing_enter)
    try:
        cfg = md.DistillConfig(data=str(tmp_path/'data'), model=str(tmp_path/'model'), ipc=2, num_inference_steps=4, stop_t=2)
        with pytest.raises(MGD3Error, match='is writing'): md.distill(cfg, out, progress=False)
        assert sorted(p.name for p in out.iterdir()) == ['.mgd3.lock', 'manifest.json']
    finally: other.kill(); other.wait()
