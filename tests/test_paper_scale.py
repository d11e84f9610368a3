"""The paper-scale path on CPU: mgd3_distill on an ImageNet subset with a model of DiT-XL/2's structure (tiny, random) and a tiny
stand-in for its VAE, stabilityai/sd-vae-ft-mse, given as a local folder (tests never download)."""
import json, sys
from pathlib import Path
import pytest
from conftest import assert_clean_error
from fake_imagenet import make_fake_imagenet, make_tiny_dit_xl, digest

@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from mgd3.pipeline import tiny_sd_vae_folder
    d = tmp_path_factory.mktemp('paper')
    tiny_sd_vae_folder(d/'sd-vae-ft-mse')
    return d, make_fake_imagenet(d/'imagenet'/'train'), make_tiny_dit_xl(d/'DiT-XL-2-256')

def _args(inet, model, *extra, vae='sd-vae-ft-mse'):
    "mgd3_distill's options for the fake ImageNette, with --vae the tiny sd-vae-ft-mse beside the model (vae=None: no --vae)."
    v = [] if vae is None else ['--vae', str(Path(str(model)).parent/vae)]
    return ['--data', str(inet), '--subset', 'imagenette', '--size', '16', '--model', str(model), *v, '--ipc', '2', '--num_inference_steps', '4',
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
    r = run_cli('mgd3_distill', '--out', str(tmp_path/'out'), *_args(inet, 'facebook/DiT-XL-2-256', vae=None), env={'HF_HOME': str(tmp_path/'hf')})
    assert_clean_error(r, 'hf download facebook/DiT-XL-2-256 --local-dir DIR')
    assert not (tmp_path/'out').exists()

def test_without_vae_the_papers_or_nothing(setup, run_cli, tmp_path):
    "No --vae: stabilityai/sd-vae-ft-mse from the Hugging Face cache (empty here, offline) or one line naming it; never the folder's own vae/."
    d, inet, model = setup
    r = run_cli('mgd3_distill', '--out', str(tmp_path/'out'), *_args(inet, model, vae=None), env={'HF_HOME': str(tmp_path/'hf')})
    assert_clean_error(r, 'stabilityai/sd-vae-ft-mse', 'hf download stabilityai/sd-vae-ft-mse --local-dir DIR', '--vae DIR')
    assert not (tmp_path/'out').exists()

def test_the_vae_given_is_the_vae_used(setup, fork_cli, tmp_path):
    "--vae is what samples and encodes: the repository's own vae/, asked for by name, gives another VAE hash and other images."
    d, inet, model = setup
    assert fork_cli('mgd3_distill', '--out', tmp_path/'mse', *_args(inet, model)).returncode == 0
    r = fork_cli('mgd3_distill', '--out', tmp_path/'own', *_args(inet, model, vae='DiT-XL-2-256/vae'))
    assert r.returncode == 0, r.stderr
    mse, own = (json.loads((tmp_path/x/'manifest.json').read_text())['settings']['vae_hash'] for x in ('mse', 'own'))
    assert mse and own and mse != own and digest(tmp_path/'mse') != digest(tmp_path/'own')

def test_vae_with_another_scaling_factor_is_refused(setup, fork_cli, tmp_path):
    from mgd3.pipeline import tiny_sd_vae_folder
    d, inet, model = setup
    tiny_sd_vae_folder(d/'vae-sdxl-scale', scaling_factor=0.13025)
    assert_clean_error(fork_cli('mgd3_distill', '--out', tmp_path/'o', *_args(inet, model, vae='vae-sdxl-scale')),
                       "the VAE's latent scaling factor is 0.13025, but DiT-XL/2 was trained on latents scaled by 0.18215")
    assert not (tmp_path/'o').exists()

def test_bad_paper_scale_input(setup, fork_cli, tmp_path):
    d, inet, model = setup
    assert_clean_error(fork_cli('mgd3_distill', '--out', tmp_path/'o', *_args(d/'nowhere', model)), 'does not exist')
    assert_clean_error(fork_cli('mgd3_distill', '--out', tmp_path/'o', *_args(d, model)), 'class folder n01440764 (tench) not found')
    assert_clean_error(fork_cli('mgd3_distill', '--out', tmp_path/'o', '--vae', model/'vae', '--ipc', '1'), '--vae applies to DiT-XL/2-style models only')
    assert_clean_error(fork_cli('mgd3_distill', '--out', tmp_path/'o', *_args(inet, model, '--precision', 'int8')), 'unknown --precision')
    assert_clean_error(fork_cli('mgd3_distill', '--out', tmp_path/'o', *_args(inet, model, vae='no-vae')), 'VAE directory')
    assert not (tmp_path/'o').exists()
