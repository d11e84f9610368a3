"Command-line contract of mgd3_eval: results on stdout and in JSON; bad input -> one line on stderr, non-zero exit."
import json, shutil
from pathlib import Path
import pytest
import torch
from conftest import assert_clean_error
from mgd3.data import ImageSet, load_fashion_mnist, save_image_folder, safe_name, FMNIST_CLASSES
from mgd3.evaluate import RESULT_KEYS, evaluate

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

def _as_folder(s):
    "`s` as `load_image_folder` reads it back from `save_image_folder`: labels = sorted folder names, images class by class (relabelled by hand)."
    names = sorted(safe_name(c) for c in s.classes)
    y = torch.tensor([names.index(safe_name(s.classes[k])) for k in s.y.tolist()])
    order = torch.argsort(y, stable=True)
    return ImageSet(s.x[order], y[order], names)

def _library_accs(train, test, **kw):
    "The accuracies `evaluate` gives in this process for FAST's settings, on one thread as the command runs (OMP_NUM_THREADS=1)."
    n = torch.get_num_threads(); torch.set_num_threads(1)
    try: return evaluate(train, test, runs=1, epochs=2, device='cpu', progress=False, **kw)['accs']
    finally: torch.set_num_threads(n)

def test_prints_and_writes_json(run_cli, folders, tmp_path):
    out = tmp_path/'eval.json'
    r = run_cli('mgd3_eval', str(folders/'distilled'), '--test', str(folders/'test'), *FAST, '--json', str(out))
    assert r.returncode == 0, r.stderr
    assert '±' in r.stdout and 'run 1:' in r.stdout
    res = json.loads(out.read_text())
    for k in (*RESULT_KEYS, 'dirs', 'test', 'env'): assert k in res, k
    assert res['protocol'] == 'dc' and res['net'] == 'convnet3' and len(res['accs']) == 1
    # the same number as the library trained on the same images, given in memory (no folder read)
    assert res['accs'] == _library_accs(_as_folder(_few('train', 2)), _as_folder(_few('test', 3))), res['accs']
    assert res['mean'] == res['accs'][0] and res['std'] == 0
    assert res['settings']['recipe']['epochs'] == 2
    assert f"{res['mean']:.2f} ± {res['std']:.2f}" in r.stdout

def test_resume_reuses_the_recorded_run(run_cli, folders, tmp_path):
    out, state = tmp_path/'eval.json', tmp_path/'eval.json.state'
    args = (str(folders/'distilled'), '--test', str(folders/'test'), *FAST, '--json', str(out))
    r = run_cli('mgd3_eval', *args); assert r.returncode == 0, r.stderr
    accs = json.loads(out.read_text())['accs']
    # a record no run can give (12.5 % is no multiple of 100/30 %) is what --resume reports, and the state file is not rewritten
    st = json.loads(state.read_text()); st['runs']['0']['acc'] = 12.5; state.write_text(json.dumps(st))
    before = (state.read_bytes(), state.stat().st_mtime_ns)
    r2 = run_cli('mgd3_eval', *args, '--resume'); assert r2.returncode == 0, r2.stderr
    assert json.loads(out.read_text())['accs'] == [12.5] and 'run 1: 12.50%' in r2.stdout
    assert (state.read_bytes(), state.stat().st_mtime_ns) == before
    # a changed setting is not served from the record
    assert_clean_error(run_cli('mgd3_eval', *args, '--seed', '1', '--resume'), 'other settings')
    assert_clean_error(run_cli('mgd3_eval', *args[:-4], '--epochs', '3', *args[-4:], '--resume'), 'other settings')
    # without --resume the record is dropped and the run trained again: the first number comes back
    r3 = run_cli('mgd3_eval', *args); assert r3.returncode == 0, r3.stderr
    assert json.loads(out.read_text())['accs'] == accs and json.loads(state.read_text())['runs']['0']['acc'] == accs[0]

def test_default_test_set_matched_by_name(run_cli, folders, tmp_path):
    "Without --test: Fashion-MNIST's test split, whose label order is not the folders' (T-shirt/top is label 0 but folder 9)."
    out = tmp_path/'fm.json'
    r = run_cli('mgd3_eval', str(folders/'distilled'), *FAST, '--json', str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())['accs'] == _library_accs(_as_folder(_few('train', 2)), _as_folder(load_fashion_mnist('test')))

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
    assert res['accs'] == _library_accs(_as_folder(_few('train', 2)), _as_folder(_few('test', 3)), precision='bf16')
    # a bf16 state file is not reused for an fp32 run
    r2 = run_cli('mgd3_eval', str(folders/'distilled'), '--test', str(folders/'test'), *FAST, '--json', str(out), '--resume')
    assert_clean_error(r2, 'other settings')

def test_unknown_precision(run_cli, folders):
    assert_clean_error(run_cli('mgd3_eval', str(folders/'distilled'), '--precision', 'half', *FAST), "unknown --precision 'half'", 'or auto')
    assert_clean_error(run_cli('mgd3_eval', str(folders/'distilled'), '--precision', 'fp16', *FAST), "unknown --precision 'fp16'")

@pytest.fixture(scope='module')
def imagenette(tmp_path_factory):
    "A fake distilled ImageNette and test set (class folders named by WordNet id) and a random ResNet-18 teacher file with torchvision's names."
    from safetensors.torch import save_file
    from fake_imagenet import make_fake_imagenet
    from mgd3.networks import ResNet18BN
    root = tmp_path_factory.mktemp('nette')
    make_fake_imagenet(root/'distilled', n=1, size=(24, 24)); make_fake_imagenet(root/'val', n=1, size=(30, 26), seed=1)
    torch.manual_seed(0); sd = ResNet18BN().state_dict()
    save_file(sd, root/'resnet18.safetensors')
    save_file({k.replace('layer3.1.bn2', 'layer3.1.bnX'): v for k, v in sd.items()}, root/'renamed.safetensors')
    return root

def test_soft_protocol_with_teacher_file(run_cli, imagenette, tmp_path):
    out, d = tmp_path/'soft.json', imagenette
    base = (str(d/'distilled'), '--protocol', 'soft', '--subset', 'imagenette', '--test', str(d/'val'), '--size', '16', *FAST)
    r = run_cli('mgd3_eval', *base, '--teacher', str(d/'resnet18.safetensors'), '--json', str(out))
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert (res['net'], res['metric'], res['settings']['size'], res['settings']['ipc']) == ('resnet18_bn', 'best', 16, 1)
    assert 'module' in res['settings']['teacher'] and 'resnet18_bn, soft protocol' in r.stdout
    assert_clean_error(run_cli('mgd3_eval', *base, '--teacher', str(d/'renamed.safetensors')),
                       "no tensor 'layer3.1.bn2.weight'", "unexpected 'layer3.1.bnX.")

def test_soft_protocol_option_errors(run_cli, imagenette, folders):
    d, t = imagenette, str(imagenette/'resnet18.safetensors')
    soft = (str(d/'distilled'), '--protocol', 'soft', *FAST)
    val = ('--test', str(d/'val'))
    assert_clean_error(run_cli('mgd3_eval', *soft, *val, '--teacher', str(d/'val')), 'pass them as --teacher_data')
    assert_clean_error(run_cli('mgd3_eval', *soft, *val, '--teacher', t), 'needs --subset')
    assert_clean_error(run_cli('mgd3_eval', *soft, *val, '--teacher', t, '--subset', 'imagewoof'), "class folder 'n01440764' is not a class of imagewoof")
    assert_clean_error(run_cli('mgd3_eval', *soft, '--teacher', t, '--subset', 'imagenette', '--test', 'fashion-mnist'), 'needs --test DIR')
    assert_clean_error(run_cli('mgd3_eval', str(folders/'distilled'), '--teacher', t, '--subset', 'imagenette', *FAST), '--teacher is for --protocol soft')
    assert_clean_error(run_cli('mgd3_eval', str(folders/'distilled'), '--protocol', 'soft', '--test', str(folders/'test'), *FAST), 'needs --teacher_data DIR')
