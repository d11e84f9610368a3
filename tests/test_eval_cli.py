"Command-line contract of mgd3_eval: results on stdout and in JSON; bad input -> one line on stderr, non-zero exit."
import json, shutil
from pathlib import Path
import pytest
import torch
from conftest import assert_clean_error
from mgd3.data import load_fashion_mnist, save_image_folder, safe_name, FMNIST_CLASSES
from mgd3.evaluate import RESULT_KEYS

def _few(split, n, offset=0):
    "n real Fashion-MNIST images per class."
    s = load_fashion_mnist(split)
    return s.subset(torch.cat([s.indices(c)[offset:offset + n] for c in range(s.num_classes)]))

@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp('eval')
    save_image_folder(_few('train', 2), root/'distilled')
    save_image_folder(_few('test', 3), root/'test')
    return root

FAST = ('--epochs', '2', '--runs', '1', '--device', 'cpu')

def _is_accuracy_on(acc, n):
    "Whether `acc` (%) is a top-1 accuracy on `n` test images: a multiple of 100/n."
    return 0 <= acc <= 100 and abs(acc * n / 100 - round(acc * n / 100)) < 1e-9

def test_prints_and_writes_json(run_cli, folders, tmp_path):
    out = tmp_path/'eval.json'
    r = run_cli('mgd3_eval', str(folders/'distilled'), '--test', str(folders/'test'), *FAST, '--json', str(out))
    assert r.returncode == 0, r.stderr
    assert '±' in r.stdout and 'run 1:' in r.stdout
    res = json.loads(out.read_text())
    for k in (*RESULT_KEYS, 'dirs', 'test', 'env'): assert k in res, k
    assert res['protocol'] == 'dc' and res['net'] == 'convnet3' and len(res['accs']) == 1
    assert _is_accuracy_on(res['mean'], 30) and res['std'] == 0   # 3 test images per class: a multiple of 100/30 %
    assert res['settings']['recipe']['epochs'] == 2
    assert f"{res['mean']:.2f} ± {res['std']:.2f}" in r.stdout
    # --resume: the recorded run is reused, the same number comes back
    r2 = run_cli('mgd3_eval', str(folders/'distilled'), '--test', str(folders/'test'), *FAST, '--json', str(out), '--resume')
    assert r2.returncode == 0, r2.stderr
    assert json.loads(out.read_text())['accs'] == res['accs']
    # ... and it is the record that comes back, not a retrained run: a number no run can give is reported as recorded
    state = Path(str(out) + '.state'); st = json.loads(state.read_text()); st['runs']['0']['acc'] = 12.5
    state.write_text(json.dumps(st))
    r3 = run_cli('mgd3_eval', str(folders/'distilled'), '--test', str(folders/'test'), *FAST, '--json', str(out), '--resume')
    assert r3.returncode == 0, r3.stderr
    assert json.loads(out.read_text())['accs'] == [12.5] and 'run 1: 12.50%' in r3.stdout

def test_classes_matched_by_name():
    "Fashion-MNIST's label order is not alphabetical: after alignment, label k holds the images of folder k."
    from mgd3.evaluate import align_classes
    test = load_fashion_mnist('test')
    folders = sorted(safe_name(c) for c in FMNIST_CLASSES)
    al = align_classes(test, folders)
    assert al.classes == folders
    for k, name in enumerate(folders):
        orig = [safe_name(c) for c in FMNIST_CLASSES].index(name)
        assert torch.equal(al.x[al.y == k], test.x[test.y == orig])

def test_missing_dir(run_cli, tmp_path):
    assert_clean_error(run_cli('mgd3_eval', str(tmp_path/'nope'), *FAST), 'does not exist')

def test_empty_class_folder(run_cli, folders, tmp_path):
    d = tmp_path/'d'; shutil.copytree(folders/'distilled', d)
    for f in (d/safe_name('Bag')).iterdir(): f.unlink()
    assert_clean_error(run_cli('mgd3_eval', str(d), *FAST), 'holds no images')

def test_class_not_in_test_set(run_cli, folders, tmp_path):
    d = tmp_path/'d'; shutil.copytree(folders/'distilled', d)
    (d/safe_name('Bag')).rename(d/'Robot')
    assert_clean_error(run_cli('mgd3_eval', str(d), *FAST), "'Robot' is not in the test set")

def test_class_missing_in_distilled(run_cli, folders, tmp_path):
    d = tmp_path/'d'; shutil.copytree(folders/'distilled', d)
    shutil.rmtree(d/safe_name('Bag'))
    assert_clean_error(run_cli('mgd3_eval', str(d), '--test', str(folders/'test'), *FAST), "'Bag'", 'no folder in the distilled set')

def test_unknown_protocol(run_cli, folders):
    assert_clean_error(run_cli('mgd3_eval', str(folders/'distilled'), '--protocol', 'xyz', *FAST), "unknown --protocol 'xyz'")

def test_unknown_net(run_cli, folders):
    assert_clean_error(run_cli('mgd3_eval', str(folders/'distilled'), '--net', 'vgg11', *FAST), "unknown --net 'vgg11'")

def test_bf16_run_is_recorded(run_cli, folders, tmp_path):
    out = tmp_path/'bf16.json'
    r = run_cli('mgd3_eval', str(folders/'distilled'), '--test', str(folders/'test'), *FAST, '--precision', 'bf16', '--json', str(out))
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert res['precision'] == 'bf16' and res['settings']['precision'] == 'bf16' and 'bf16' in r.stdout
    assert _is_accuracy_on(res['accs'][0], 30)
    # a bf16 state file is not reused for an fp32 run
    r2 = run_cli('mgd3_eval', str(folders/'distilled'), '--test', str(folders/'test'), *FAST, '--json', str(out), '--resume')
    assert_clean_error(r2, 'other settings')

def test_unknown_precision(run_cli, folders):
    assert_clean_error(run_cli('mgd3_eval', str(folders/'distilled'), '--precision', 'half', *FAST), "unknown --precision 'half'", 'or auto')
    assert_clean_error(run_cli('mgd3_eval', str(folders/'distilled'), '--precision', 'fp16', *FAST), "unknown --precision 'fp16'")
