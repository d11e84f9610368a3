"The U-Net backbone from the command line: mgd3_pretrain --arch unet (train, resume), then mgd3_distill --model with every method, in pixels and in a VAE's latent space."
import json
from pathlib import Path
import pytest
import torch
from conftest import assert_clean_error
from mgd3.core import tiny_images, tiny_vae
from mgd3.data import ImageSet, to_uint8, save_image_folder, resolve_data

def _folder(d, size, n_per_class=4):
    x, y, names = tiny_images(n_per_class=n_per_class, num_classes=2, size=size)
    save_image_folder(ImageSet(to_uint8(x), y, names), d)
    return names

def test_preset_of_the_other_arch(run_cli, tmp_path):
    assert_clean_error(run_cli('mgd3_pretrain', '--out', str(tmp_path/'r'), '--arch', 'unet', '--preset', 'DiT-S/2'),
                       "--preset 'DiT-S/2' is not a preset of --arch unet: choose one of tiny, fmnist, fmnist-latent")
    assert_clean_error(run_cli('mgd3_pretrain', '--out', str(tmp_path/'r'), '--arch', 'gan'), "unknown --arch 'gan'")
    assert not (tmp_path/'r').exists()

def test_fmnist_unet_distils_end_to_end(run_cli, tmp_path):
    # the shipped U-Net by name: modes in its VAE's latent space, one image per mode, its weights in the manifest
    from mgd3.data import load_fashion_mnist
    from mgd3.results import generator_hash
    s = load_fashion_mnist('train')
    save_image_folder(s.subset(torch.cat([s.indices(c)[:3] for c in range(s.num_classes)])), tmp_path/'data')
    r = run_cli('mgd3_distill', '--out', str(tmp_path/'d'), '--data', str(tmp_path/'data'), '--model', 'fmnist-unet',
                '--ipc', '2', '--num_inference_steps', '4', '--stop_t', '2', '--cache_dir', str(tmp_path/'cache'), '--quiet')
    assert r.returncode == 0, r.stderr
    pngs = sorted((tmp_path/'d').rglob('*.png'))
    assert len(pngs) == 20 and len({p.parent.name for p in pngs}) == 10
    man = json.loads((tmp_path/'d'/'manifest.json').read_text())
    assert man['settings']['model_hash'] == generator_hash('fmnist-unet') != generator_hash(None)

def test_unet_pretrain_resume_and_distill_every_method(run_cli, tmp_path):
    names = _folder(tmp_path/'data', 8)
    args = ['mgd3_pretrain', '--out', str(tmp_path/'r'), '--data', str(tmp_path/'data'), '--arch', 'unet', '--preset', 'tiny', '--batch_size', '4']
    r = run_cli(*args, '--steps', '3')
    assert r.returncode == 0, r.stderr
    assert_clean_error(run_cli(*args, '--steps', '5'), 'already holds a training run')
    r = run_cli(*args, '--steps', '5', '--resume')
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path/'r'/'checkpoint.json').read_text())['step'] == 5
    info = json.loads((tmp_path/'r'/'model'/'mgd3.json').read_text())
    assert info['record']['config']['arch'] == 'unet' and info['record']['steps'] == 5 and info['classes'] == names
    assert json.loads((tmp_path/'r'/'model'/'model_index.json').read_text())['_class_name'] == 'ModeGuidedUNetPipeline'
    from mgd3.pipeline import ModeGuidedDiTPipeline
    from mgd3.distill import weights_hash
    h = weights_hash(ModeGuidedDiTPipeline.from_pretrained(tmp_path/'r'), 'unet')
    for method, extra in [('mgd3', []), ('dit', []), ('mgd3', ['--stop_t', '0']), ('random', []), ('kmeans_real', [])]:
        out = tmp_path/f"d-{method}{'-nostop' if extra else ''}"
        r = run_cli('mgd3_distill', '--out', str(out), '--data', str(tmp_path/'data'), '--model', str(tmp_path/'r'), '--method', method,
                    '--ipc', '2', '--num_inference_steps', '4', *(extra or ['--stop_t', '2']), '--quiet')
        assert r.returncode == 0, (method, r.stderr)
        assert sorted(p.parent.name for p in out.rglob('*.png')) == sorted(names * 2)
        man = json.loads((out/'manifest.json').read_text())
        if method in ('mgd3', 'dit'): assert man['settings']['model_hash'] == h       # sampled by the U-Net

def test_unet_latent_path_finds_modes_in_the_vae_latent_space(run_cli, tmp_path):
    names = _folder(tmp_path/'data', 14, n_per_class=5)                      # 14×14 images -> 4×7×7 latents (one 2× down-sampling)
    tiny_vae(seed=1).save_pretrained(tmp_path/'vae')
    r = run_cli('mgd3_pretrain', '--out', str(tmp_path/'r'), '--data', str(tmp_path/'data'), '--vae', str(tmp_path/'vae'),
                '--arch', 'unet', '--preset', 'tiny', '--batch_size', '4', '--steps', '2')
    assert r.returncode == 0, r.stderr
    from mgd3.pipeline import ModeGuidedDiTPipeline
    pipe = ModeGuidedDiTPipeline.from_pretrained(tmp_path/'r')
    assert type(pipe).__name__ == 'ModeGuidedUNetPipeline' and pipe.latent_shape == (4, 7, 7) and pipe.unet.config.sample_size == 8
    r = run_cli('mgd3_distill', '--out', str(tmp_path/'d'), '--data', str(tmp_path/'data'), '--model', str(tmp_path/'r'),
                '--ipc', '2', '--num_inference_steps', '4', '--stop_t', '2', '--cache_dir', str(tmp_path/'cache'), '--quiet')
    assert r.returncode == 0, r.stderr
    from PIL import Image
    pngs = sorted((tmp_path/'d').rglob('*.png'))
    assert len(pngs) == 4 and Image.open(pngs[0]).size == (14, 14)
    # the modes were found in the VAE's latent space (posterior mean x scaling factor) of the model's own VAE
    from mgd3.latents import VAESpace
    from mgd3.classes import class_latents
    from mgd3.modes import Modes, find_class_modes, modes_hash
    ds, man = resolve_data(str(tmp_path/'data')), json.loads((tmp_path/'d'/'manifest.json').read_text())
    space = VAESpace(pipe.vae, name=f"vae{man['settings']['vae_hash'][:10]}")   # the run's space: its cache key
    z = space.encode(ds.images())
    from mgd3.results import generator_hash
    assert generator_hash(str(tmp_path/'r')) == man['settings']['model_hash']   # the results engine hashes a U-Net as mgd3_distill does
    assert tuple(z.shape[1:]) == (4, 7, 7)
    h = lambda M, c: modes_hash(Modes({c: M}, {c: None}, '', 2, 0, tuple(M.shape[1:])))
    for c, entry in enumerate(man['classes']):
        zc = class_latents(ds, c, space, cache_dir=tmp_path/'cache')   # the latents the run encoded and cached (another process's float bytes can differ from z's)
        torch.testing.assert_close(zc, z[ds.y == c], rtol=0, atol=1e-6)
        assert entry['modes_hash'] == h(find_class_modes(zc, c, 2, 'kmeans', 0)[0], c)
        assert entry['modes_hash'] != h(find_class_modes(ds.images()[ds.y == c], c, 2, 'kmeans', 0)[0], c)   # not pixel-space modes
