"Command-line contract of mgd3_pretrain: bad input -> one line on stderr, non-zero exit, nothing written."
import json
from pathlib import Path
from conftest import assert_clean_error
from mgd3.core import tiny_images
from mgd3.data import ImageSet, to_uint8, save_image_folder

def test_missing_out(run_cli):
    assert_clean_error(run_cli('mgd3_pretrain'), '--out is required')

def test_bad_steps(run_cli, tmp_path):
    assert_clean_error(run_cli('mgd3_pretrain', '--out', str(tmp_path/'r'), '--steps', '0'), '--steps must be positive')
    assert not (tmp_path/'r').exists()

def test_missing_data_dir(run_cli, tmp_path):
    assert_clean_error(run_cli('mgd3_pretrain', '--out', str(tmp_path/'r'), '--data', str(tmp_path/'nope')), 'does not exist')
    assert not (tmp_path/'r').exists()

def test_unknown_preset(run_cli, tmp_path):
    assert_clean_error(run_cli('mgd3_pretrain', '--out', str(tmp_path/'r'), '--preset', 'huge'), 'unknown --preset')

def test_train_imagefolder_and_resume(run_cli, tmp_path):
    x, y, names = tiny_images(n_per_class=4, num_classes=2, size=8)
    save_image_folder(ImageSet(to_uint8(x), y, names), tmp_path/'data')
    args = ['mgd3_pretrain', '--out', str(tmp_path/'r'), '--data', str(tmp_path/'data'), '--preset', 'tiny', '--batch_size', '4']
    r = run_cli(*args, '--steps', '3')
    assert r.returncode == 0, r.stderr
    info = json.loads((tmp_path/'r'/'model'/'mgd3.json').read_text())
    assert info['classes'] == names and info['record']['steps'] == 3
    assert (tmp_path/'r'/'model'/'transformer'/'diffusion_pytorch_model.safetensors').exists()
    # a second run into the same directory refuses without --resume, and continues with it
    assert_clean_error(run_cli(*args, '--steps', '5'), 'already holds a training run')
    r = run_cli(*args, '--steps', '5', '--resume')
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path/'r'/'checkpoint.json').read_text())['step'] == 5
    # what mgd3_pretrain --out wrote is a --model for mgd3_distill: the run folder, or the model folder inside it
    for model in (tmp_path/'r', tmp_path/'r'/'model'):
        out = tmp_path/f"d-{model.name}"
        r = run_cli('mgd3_distill', '--out', str(out), '--data', str(tmp_path/'data'), '--model', str(model),
                    '--ipc', '1', '--num_inference_steps', '2', '--stop_t', '1', '--quiet')
        assert r.returncode == 0, r.stderr
        assert sorted(p.parent.name for p in out.rglob('*.png')) == sorted(names)

def test_distill_model_not_found(run_cli, tmp_path):
    r = run_cli('mgd3_distill', '--out', str(tmp_path/'d'), '--model', str(tmp_path/'nothing'), '--quiet')
    assert_clean_error(r, 'no model found', f"looked for {tmp_path/'nothing'/'transformer'/'config.json'}",
                       str(tmp_path/'nothing'/'model'/'transformer'/'config.json'), 'fmnist-dit')
    assert not (tmp_path/'d').exists()
