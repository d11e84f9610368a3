"""The paper-scale path on CPU: mgd3_distill on an ImageNet subset with a model of DiT-XL/2's structure (tiny, random)."""
import json, sys
from pathlib import Path
import pytest
from conftest import assert_clean_error
from fake_imagenet import make_fake_imagenet, make_tiny_dit_xl, digest

@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp('paper')
    return d, make_fake_imagenet(d/'imagenet'/'train'), make_tiny_dit_xl(d/'DiT-XL-2-256')

def _args(inet, model, *extra):
    return ['--data', str(inet), '--subset', 'imagenette', '--size', '16', '--model', str(model), '--ipc', '2', '--num_inference_steps', '4',
            '--stop_t', '2', '--device', 'cpu', '--quiet', *map(str, extra)]

def test_imagenette_with_a_dit_xl_structure(setup, fork_cli):
    d, inet, model = setup
    r = fork_cli('mgd3_distill', '--out', d/'a', *_args(inet, model, '--cache_dir', d/'cache'))
    assert r.returncode == 0, r.stderr
    man = json.loads((d/'a'/'manifest.json').read_text())
    assert [c['model_label'] for c in man['classes']] == [0, 217, 482, 491, 497, 566, 569, 571, 574, 701]   # DiT-XL/2's ImageNet labels
    assert [c['dir'] for c in man['classes']][:2] == ['tench', 'English springer'] and len(digest(d/'a')) == 20
    cache = sorted((d/'cache').glob('*.safetensors'))
    assert len(cache) == 10
    stamps = {p: p.stat().st_mtime_ns for p in cache}
    # a second run with another seed and method reads the cached latents: no file is (re)written
    r = fork_cli('mgd3_distill', '--out', d/'b', *_args(inet, model, '--cache_dir', d/'cache', '--seed', '1', '--method', 'kmeans_real'))
    assert r.returncode == 0, r.stderr
    assert {p: p.stat().st_mtime_ns for p in sorted((d/'cache').glob('*.safetensors'))} == stamps
    # same settings without a cache: the same bytes
    r = fork_cli('mgd3_distill', '--out', d/'c', *_args(inet, model, '--cache_dir', 'none'))
    assert r.returncode == 0, r.stderr
    assert digest(d/'c') == digest(d/'a')

def test_default_cache_is_the_user_cache(setup, run_cli, tmp_path):
    d, inet, model = setup
    r = run_cli(sys.executable, '-m', 'mgd3.distill', '--out', str(tmp_path/'out'), *_args(inet, model), env={'XDG_CACHE_HOME': str(tmp_path/'xdg')})
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path/'xdg'/'mgd3'/'latents').glob('latents-imagenette-*.safetensors'))) == 10

def test_hub_id_offline_says_how_to_download(setup, run_cli, tmp_path):
    d, inet, model = setup
    r = run_cli('mgd3_distill', '--out', str(tmp_path/'out'), *_args(inet, 'facebook/DiT-XL-2-256'), env={'HF_HOME': str(tmp_path/'hf')})
    assert_clean_error(r, 'hf download facebook/DiT-XL-2-256 --local-dir DIR')
    assert not (tmp_path/'out').exists()

def test_bad_paper_scale_input(setup, fork_cli, tmp_path):
    d, inet, model = setup
    assert_clean_error(fork_cli('mgd3_distill', '--out', tmp_path/'o', *_args(d/'nowhere', model)), 'does not exist')
    assert_clean_error(fork_cli('mgd3_distill', '--out', tmp_path/'o', *_args(d, model)), 'class folder n01440764 (tench) not found')
    assert_clean_error(fork_cli('mgd3_distill', '--out', tmp_path/'o', '--vae', model/'vae', '--ipc', '1'), '--vae applies to DiT-XL/2-style models only')
    assert_clean_error(fork_cli('mgd3_distill', '--out', tmp_path/'o', *_args(inet, model, '--precision', 'int8')), 'unknown --precision')
    assert_clean_error(fork_cli('mgd3_distill', '--out', tmp_path/'o', *_args(inet, model, '--vae', d/'no-vae')), 'VAE directory')
    assert not (tmp_path/'o').exists()
