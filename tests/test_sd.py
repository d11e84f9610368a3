"""mgd3.sd: text-to-image MGD³ with Stable Diffusion, on tiny random components built here from configs.

The CLIP vocabulary is written by this file (vocab.json + merges.txt), so `CLIPTokenizer` loads for real;
the DDPM reference below is written from the equations in float64 and shares no code with diffusers'
scheduler or the pipeline's CFG."""
import copy, json, os, shutil, signal, subprocess, sys, zlib
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image
from conftest import assert_clean_error

pytest.importorskip('transformers')
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
from diffusers import AutoencoderKL, UNet2DConditionModel
from mgd3.core import MGD3Error, item_seed
from mgd3.data import ImageSet
from mgd3.latents import image_seed
from mgd3.classes import class_latents
from mgd3.modes import find_class_modes
import mgd3.sd as sd

MAXLEN = 10
PROMPTS = ['tench', 'tench', 'a church', 'a church', 'golf ball']
SCHED = {'_class_name': 'PNDMScheduler', 'beta_start': 0.00085, 'beta_end': 0.012, 'beta_schedule': 'scaled_linear',
         'num_train_timesteps': 1000, 'set_alpha_to_one': False, 'skip_prk_steps': True, 'steps_offset': 1, 'clip_sample': False}


def write_vocab(d: Path):
    "A CLIP byte-pair vocabulary: letters (alone, and at a word's end), merges that spell 'tench' and 'church'."
    vocab = {'<|startoftext|>': 0, '<|endoftext|>': 1}
    for ch in 'abcdefghijklmnopqrstuvwxyz': vocab[ch] = len(vocab); vocab[ch + '</w>'] = len(vocab)
    merges = ['t e', 'te n', 'ten c', 'tenc h</w>', 'c h', 'ch u', 'chu r', 'chur c', 'churc h</w>']
    for m in merges: vocab[m.replace(' ', '')] = len(vocab)
    d.mkdir(parents=True, exist_ok=True)
    (d/'vocab.json').write_text(json.dumps(vocab))
    (d/'merges.txt').write_text('#version: 0.2\n' + '\n'.join(merges) + '\n')
    (d/'tokenizer_config.json').write_text(json.dumps({'model_max_length': MAXLEN}))


def make_sd_folder(root: Path, seed=0) -> Path:
    "A Stable Diffusion folder in SD v1.5's layout, every part random and tiny."
    write_vocab(root/'tokenizer')
    tok = CLIPTokenizer.from_pretrained(root/'tokenizer')
    assert tok.convert_ids_to_tokens(tok('a Tench').input_ids) == ['<|startoftext|>', 'a</w>', 'tench</w>', '<|endoftext|>']
    torch.manual_seed(seed)
    CLIPTextModel(CLIPTextConfig(vocab_size=len(tok), hidden_size=8, intermediate_size=16, num_attention_heads=2, num_hidden_layers=1,
                                 max_position_embeddings=MAXLEN, bos_token_id=0, eos_token_id=1, pad_token_id=1)).save_pretrained(root/'text_encoder')
    UNet2DConditionModel(sample_size=4, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(4, 8), norm_num_groups=2,
                         down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'), up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'),
                         cross_attention_dim=8, attention_head_dim=2).save_pretrained(root/'unet')
    AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(4, 8), layers_per_block=1, norm_num_groups=2,
                  down_block_types=('DownEncoderBlock2D',) * 2, up_block_types=('UpDecoderBlock2D',) * 2).save_pretrained(root/'vae')
    (root/'scheduler').mkdir(); (root/'scheduler'/'scheduler_config.json').write_text(json.dumps(SCHED))
    (root/'model_index.json').write_text(json.dumps({'_class_name': 'StableDiffusionPipeline', 'safety_checker': ['stable_diffusion', 'StableDiffusionSafetyChecker']}))
    return root


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    return make_sd_folder(tmp_path_factory.mktemp('sd')/'model')


@pytest.fixture(scope='module')
def pipe(folder):
    p = sd.ModeGuidedStableDiffusionPipeline.from_pretrained(folder)
    p.set_progress_bar_config(disable=True)
    return p


def embed(p, prompts):
    "The text encoder's last hidden state of prompts padded with end tokens to MAXLEN."
    with torch.no_grad():
        ids = torch.tensor([(q + [1] * MAXLEN)[:MAXLEN] for q in p.tokenizer(prompts).input_ids])
        return p.text_encoder(ids).last_hidden_state


def reference(p, prompts, seeds, steps, s, modes=None, lam=0.0, stop=500, neg=''):
    "Mode-guided DDPM with CFG from the equations, float64, SD's scaled-linear β and 'leading' timesteps + 1."
    u = copy.deepcopy(p.unet).double()
    c, n = embed(p, prompts).double(), embed(p, [neg] * len(prompts)).double()
    beta = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    abar = torch.cumprod(1 - beta, 0)
    gens = [torch.Generator().manual_seed(x) for x in seeds]
    draw = lambda: torch.cat([torch.randn(1, 4, 4, 4, generator=g) for g in gens]).double()
    x, k = draw(), 1000 // steps
    with torch.no_grad():
        for t in [k * j + 1 for j in range(steps - 1, -1, -1)]:
            a = abar[t]; ap = abar[t - k] if t - k >= 0 else torch.tensor(1.0, dtype=torch.float64)
            e = u(x, t, encoder_hidden_states=n).sample
            e = e + s * (u(x, t, encoder_hidden_states=c).sample - e)
            x0 = (x - torch.sqrt(1 - a) * e) / torch.sqrt(a)
            b = 1 - a / ap
            mean = torch.sqrt(ap) * b / (1 - a) * x0 + torch.sqrt(a / ap) * (1 - ap) / (1 - a) * x
            sigma = torch.sqrt((1 - ap) / (1 - a) * b)
            if modes is not None and t > stop: mean = mean - lam * sigma * (x0 - modes.double())
            x = mean + sigma * draw()
    return x


def test_loaded_scheduler_is_ddpm_from_the_folder(pipe):
    s = pipe.scheduler
    assert type(s).__name__ == 'DDPMScheduler' and s.config.beta_schedule == 'scaled_linear' and s.config.variance_type == 'fixed_small'
    s.set_timesteps(50)
    assert s.timesteps.tolist() == [981 - 20 * i for i in range(50)]


@pytest.mark.parametrize('lam,stop', [(0.0, 500), (0.3, 500), (0.3, 501)])
def test_matches_reference(pipe, lam, stop):
    "λ = 0: plain SD DDPM with CFG 8; λ = 0.3: the guided step while t > stop (timesteps 751, 501, 251, 1: 501 is guided at 500, not at 501)."
    modes = torch.randn(5, 4, 4, 4, generator=torch.Generator().manual_seed(5))
    r = pipe(PROMPTS, num_inference_steps=4, generator=3, output_type='latent', modes=modes, mode_guidance_scale=lam, stop_timestep=stop)
    assert r.seeds == [item_seed(3, zlib.crc32(q.encode()), k) for q, k in zip(PROMPTS, [0, 1, 0, 1, 0])]
    ref = reference(pipe, PROMPTS, r.seeds, 4, 8.0, modes, lam, stop)
    assert torch.allclose(r.latents.double(), ref, atol=1e-4, rtol=1e-5), (r.latents.double() - ref).abs().max()
    if lam:   # and guidance did something: the unguided reference is far
        assert (r.latents.double() - reference(pipe, PROMPTS, r.seeds, 4, 8.0)).abs().max() > 1e-2


def test_negative_prompt_and_cfg_scale(pipe):
    r = pipe(PROMPTS[:2], num_inference_steps=3, generator=0, output_type='latent', guidance_scale=2.5, negative_prompt='church')
    ref = reference(pipe, PROMPTS[:2], r.seeds, 3, 2.5, neg='church')
    assert torch.allclose(r.latents.double(), ref, atol=1e-4, rtol=1e-5)


def test_guided_image_ends_closer_to_its_mode(pipe):
    modes = torch.randn(5, 4, 4, 4, generator=torch.Generator().manual_seed(9))
    plain = pipe(PROMPTS, num_inference_steps=50, generator=1, output_type='latent').latents
    guided = pipe(PROMPTS, num_inference_steps=50, generator=1, output_type='latent', modes=modes).latents   # λ 0.1, stop 500
    d_plain, d_guided = ((plain - modes).flatten(1).norm(dim=1), (guided - modes).flatten(1).norm(dim=1))
    assert (d_guided < d_plain).all(), (d_plain, d_guided)


def test_batch_size_invariance(pipe):
    modes = torch.randn(5, 4, 4, 4, generator=torch.Generator().manual_seed(2))
    kw = dict(num_inference_steps=4, generator=11, output_type='pt', output_size=None, modes=modes)
    whole = pipe(PROMPTS, **kw).images
    for bs in (1, 2, 3):
        assert torch.allclose(pipe(PROMPTS, batch_size=bs, **kw).images, whole, atol=1e-5)
    # an image depends on its prompt and index, not on the prompts beside it
    alone = pipe(PROMPTS[2:4], **{**kw, 'modes': modes[2:4]}).images
    assert torch.allclose(alone, whole[2:4], atol=1e-5)


def test_output_types_and_size(pipe):
    pt = pipe(PROMPTS[:1], num_inference_steps=2, generator=0, output_type='pt', output_size=None).images
    assert pt.shape == (1, 3, 8, 8) and 0 <= pt.min() and pt.max() <= 1
    assert pipe(PROMPTS[:1], num_inference_steps=2, generator=0, output_type='pt').images.shape == (1, 3, 256, 256)   # the original's size
    pil = pipe(PROMPTS[:1], num_inference_steps=2, generator=0, output_size=None).images[0]
    assert pil.size == (8, 8)
    assert torch.equal(torch.from_numpy(np.array(pil)).permute(2, 0, 1).long(), (pt[0] * 255).round().long())


def test_save_load_round_trip(pipe, tmp_path):
    modes = torch.randn(2, 4, 4, 4, generator=torch.Generator().manual_seed(4))
    kw = dict(num_inference_steps=4, generator=5, output_type='pt', modes=modes, output_size=None)
    pipe.save_pretrained(tmp_path/'saved')
    back = sd.ModeGuidedStableDiffusionPipeline.from_pretrained(tmp_path/'saved'); back.set_progress_bar_config(disable=True)
    assert torch.equal(back(PROMPTS[:2], **kw).images, pipe(PROMPTS[:2], **kw).images)


def one_line(f, *needles):
    with pytest.raises(MGD3Error) as e: f()
    msg = str(e.value)
    assert '\n' not in msg, msg
    for n in needles: assert n in msg, msg


def test_bad_inputs_one_line(pipe, tmp_path):
    (tmp_path/'dit'/'transformer').mkdir(parents=True)
    one_line(lambda: sd.ModeGuidedStableDiffusionPipeline.from_pretrained(tmp_path/'dit'), 'is not a Stable Diffusion model folder', 'unet/config.json')
    one_line(lambda: pipe(['a tench in a church in a tench'], num_inference_steps=2), "'a tench in a church in a tench' is 12 tokens long, more than the 10")
    one_line(lambda: pipe(['tench'], num_inference_steps=2, negative_prompt='a tench in a church in a tench'), 'negative prompt')
    p = tmp_path/'prompts.txt'
    p.write_text('\n\n'); one_line(lambda: sd.class_prompts(['tench'], prompts_file=p), 'is empty')
    p.write_text('tench a photo of a tench\n'); one_line(lambda: sd.class_prompts(['tench'], prompts_file=p), 'line 1', 'folder<TAB>prompt')
    p.write_text('church\tchurch\ntench\t \n'); one_line(lambda: sd.class_prompts(['tench'], prompts_file=p), 'line 2', 'folder<TAB>prompt')
    p.write_text('tench\ta tench\n'); one_line(lambda: sd.class_prompts(['tench', 'church'], prompts_file=p), 'no prompt for class folder(s) church')
    assert sd.class_prompts(['tench'], prompts_file=p) == ['a tench']


def test_prompts_from_wordnet_ids():
    "WordNet ids → the first name of the shipped ImageNet list (read here by hand)."
    import importlib.resources as ir
    d = ir.files('mgd3')/'assets'/'imagenet'
    ids, names = d.joinpath('imagenet1k_wnids.txt').read_text().split(), d.joinpath('imagenet1k_names.txt').read_text().splitlines()
    want = [names[ids.index(w)].split(',')[0].strip() for w in ('n01440764', 'n03888257')]
    assert want == ['tench', 'parachute']
    assert sd.class_prompts(['n01440764', 'n03888257', 'golf_ball'], 'a photo of a {}') == [f'a photo of a {w}' for w in want] + ['a photo of a golf ball']


def test_modes_are_kmeans_of_seeded_posterior_samples(pipe):
    from sklearn.cluster import KMeans
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (10, 3, 8, 8), generator=g, dtype=torch.uint8)
    data = ImageSet(x, [0] * 5 + [1] * 5, ['tench', 'church'])
    space = sd.SDLatentSpace(pipe.vae, 'sample', seed=2)
    M, rows = find_class_modes(class_latents(data, 1, space, 'cpu', batch_size=2), 1, 2, 'kmeans', 0)   # what mgd3_distill does
    xf = x[5:].float() / 127.5 - 1
    with torch.no_grad(): mean, logvar = pipe.vae.quant_conv(pipe.vae.encoder(xf)).chunk(2, dim=1)
    eps = torch.cat([torch.randn(1, 4, 4, 4, generator=torch.Generator().manual_seed(image_seed(2, xi))) for xi in xf])
    z = (mean + torch.exp(0.5 * logvar.clamp(-30, 20)) * eps) * pipe.vae.config.scaling_factor
    assert torch.allclose(M.flatten(1), torch.from_numpy(KMeans(2, random_state=0, n_init='auto').fit(z.flatten(1).numpy()).cluster_centers_).float(), atol=1e-5)
    assert rows is None


def test_missing_transformers_names_the_extra():
    code = ("import sys; sys.modules['transformers'] = None\n"
            "import mgd3.sd as s\n"
            "from mgd3.core import MGD3Error\n"
            "try: s.ModeGuidedStableDiffusionPipeline.from_pretrained('x')\n"
            "except MGD3Error as e: print(e)\n")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1].endswith('pip install "mgd3[sd]"'), r.stdout


# ---------------------------------------------------------------------------------------------------------------------
# mgd3_distill --model SD_FOLDER --data IMAGEFOLDER, as a user runs it

CLASSES = ['church', 'tench', 'x']   # prompts the tiny vocabulary spells within MAXLEN tokens
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'MGD3_OFFLINE': '1'}
MGD3_DISTILL = [sys.executable, '-m', 'mgd3.distill']   # the console script's entry point, independent of the scripts folder


def write_photos(root: Path, n=5, size=(10, 12)) -> Path:
    "An ImageFolder of RGB PNGs, `n` per class, larger than the tiny model's 8 px (read centre-cropped to 8)."
    rng = np.random.default_rng(0)
    for k, c in enumerate(CLASSES):
        (root/c).mkdir(parents=True)
        for i in range(n):
            a = rng.integers(0, 256, (*size, 3), dtype=np.uint8); a[..., k] = 220
            Image.fromarray(a).save(root/c/f'{i}.png')
    return root


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp('photos')/'photos')


def dargs(folder, photos, out, *extra, **opts):
    o = dict(model=folder, data=photos, ipc=2, num_inference_steps=3, device='cpu', cache_dir='none') | opts
    return ['--out', str(out), *[a for k, v in o.items() for a in (f'--{k}', str(v))], '--quiet', *extra]


def pngs(d):
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(Path(d).rglob('*.png'))}


def manifest(d): return json.loads((Path(d)/'manifest.json').read_text())


def posterior_modes(pipe, x, seed, ipc):
    "k-means (random_state 0) of the seeded posterior samples of uint8 images x, computed from the encoder's moments."
    from sklearn.cluster import KMeans
    xf = x.float() / 127.5 - 1
    with torch.no_grad(): mean, logvar = pipe.vae.quant_conv(pipe.vae.encoder(xf)).chunk(2, dim=1)
    eps = torch.cat([torch.randn(1, *mean.shape[1:], generator=torch.Generator().manual_seed(image_seed(seed, xi))) for xi in xf])
    z = ((mean + torch.exp(0.5 * logvar.clamp(-30, 20)) * eps) * pipe.vae.config.scaling_factor).flatten(1).numpy()
    return torch.from_numpy(KMeans(ipc, random_state=0, n_init='auto').fit(z).cluster_centers_).float().reshape(ipc, *mean.shape[1:])


def test_cli_end_to_end(fork_cli, folder, pipe, photos, tmp_path):
    "The images are SD's, guided towards k-means modes of each class's posterior samples at 8 px; the manifest records prompts and seeds."
    out = tmp_path/'out'
    r = fork_cli('mgd3_distill', *dargs(folder, photos, out, output_size=8, seed=4))
    assert r.returncode == 0, r.stderr
    assert '6 images in 3 classes' in r.stdout
    assert sorted(pngs(out)) == [f'{c}/{k:03d}.png' for c in CLASSES for k in range(2)]
    m = manifest(out)
    assert m['status'] == 'complete' and [c['prompt'] for c in m['classes']] == CLASSES and m['settings']['prompts'] == CLASSES
    for c in m['classes']: assert c['seeds'] == [item_seed(4, zlib.crc32(c['prompt'].encode()), k) for k in range(2)]
    cfg = m['settings']['config']
    assert (cfg['guidance_scale'], cfg['stop_timestep'], cfg['stop_t'], cfg['num_inference_steps'], cfg['posterior']) == (8.0, 500, None, 3, 'sample')
    # by hand: the folder read at 8 px (centre crop of 10x12), modes from the encoder's moments, the pipeline with an int seed
    from mgd3.data import center_crop_arr
    for j, c in enumerate(CLASSES):
        x = torch.stack([torch.from_numpy(np.array(center_crop_arr(Image.open(photos/c/f'{i}.png').convert('RGB'), 8))).permute(2, 0, 1) for i in range(5)])
        M = posterior_modes(pipe, x, 4, 2)
        want = pipe([c] * 2, num_inference_steps=3, generator=4, output_type='pt', modes=M, output_size=8).images
        got = torch.stack([torch.from_numpy(np.array(Image.open(out/c/f'{k:03d}.png'))).permute(2, 0, 1) for k in range(2)])
        assert (got.int() - (want * 255).round().int()).abs().max() <= 1, c   # another process: float sums may round a grey level apart


def test_cli_baselines_defaults_and_eval(fork_cli, folder, photos, tmp_path):
    "--method dit: plain SD from the same prompts and seeds (default 256 px, CFG 8); random and kmeans_real; mgd3_eval reads the set."
    r = fork_cli('mgd3_distill', *dargs(folder, photos, tmp_path/'mgd3')); assert r.returncode == 0, r.stderr
    r = fork_cli('mgd3_distill', *dargs(folder, photos, tmp_path/'dit', method='dit')); assert r.returncode == 0, r.stderr
    a, b = pngs(tmp_path/'mgd3'), pngs(tmp_path/'dit')
    assert a.keys() == b.keys() and all(a[k] != b[k] for k in a)
    assert [c['seeds'] for c in manifest(tmp_path/'mgd3')['classes']] == [c['seeds'] for c in manifest(tmp_path/'dit')['classes']]
    assert Image.open(tmp_path/'dit'/'tench'/'000.png').size == (256, 256)   # the original's output size
    for method in ('random', 'kmeans_real'):
        r = fork_cli('mgd3_distill', *dargs(folder, photos, tmp_path/method, method=method)); assert r.returncode == 0, r.stderr
        assert len(pngs(tmp_path/method)) == 6
    r = fork_cli('mgd3_eval', str(tmp_path/'mgd3'), '--test', str(photos), '--size', '8', '--runs', '1', '--epochs', '2', '--device', 'cpu',
                 '--json', str(tmp_path/'eval.json'))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'eval.json').read_text())
    assert len(res['accs']) == 1 and 0 <= res['mean'] <= 100


def test_cli_resume_after_interruption(folder, photos, tmp_path):
    """A run stopped by a full disk while writing the third class (tests/faults.py) keeps the two finished classes;
    --resume writes only the third, and the set is byte for byte an uninterrupted run's."""
    opts = dict(batch_size=2, cache_dir=tmp_path/'cache')   # one class per sampling batch
    cut = tmp_path/'cut'
    r = subprocess.run([sys.executable, str(Path(__file__).parent/'faults.py'), 'mgd3_distill', *dargs(folder, photos, cut, **opts)],
                       capture_output=True, text=True, timeout=300, env={**ENV, 'MGD3_FAULT': 'ENOSPC:0:fsync', 'MGD3_FAULT_MATCH': f'{os.sep}x{os.sep}'})
    assert_clean_error(r, 'no space left on the device', '--resume')
    m = manifest(cut)
    assert m['status'] == 'running' and [c['done'] for c in m['classes']] == [True, True, False]
    written = {p: p.stat().st_mtime_ns for p in cut.rglob('*.png')}
    assert sorted(p.relative_to(cut).as_posix() for p in written) == ['church/000.png', 'church/001.png', 'tench/000.png', 'tench/001.png']
    # a resume with other settings is refused in one line, and changes nothing
    r = subprocess.run([*MGD3_DISTILL, *dargs(folder, photos, cut, '--resume', **opts, ipc=3)], capture_output=True, text=True, timeout=300, env=ENV)
    assert_clean_error(r, 'holds a run with other settings (options ipc differ)')
    r = subprocess.run([*MGD3_DISTILL, *dargs(folder, photos, cut, '--resume', **opts)], capture_output=True, text=True, timeout=300, env=ENV)
    assert r.returncode == 0, r.stderr
    assert {p: p.stat().st_mtime_ns for p in written} == written      # the finished classes were not redone
    r = subprocess.run([*MGD3_DISTILL, *dargs(folder, photos, tmp_path/'ref', **opts)], capture_output=True, text=True, timeout=300, env=ENV)
    assert r.returncode == 0, r.stderr
    assert pngs(cut) == pngs(tmp_path/'ref') and len(pngs(cut)) == 6
    a, b = manifest(cut), manifest(tmp_path/'ref')
    assert a['status'] == 'complete' and a['settings'] == b['settings'] and a['modes_hash'] == b['modes_hash']
    strip = lambda m: [{k: v for k, v in c.items() if k != 'seconds'} for c in m['classes']]
    assert strip(a) == strip(b)
    assert sorted(p.name for p in cut.iterdir()) == sorted(p.name for p in (tmp_path/'ref').iterdir())   # no lock or temporary file left


def test_cli_prompts_file_and_resume_refuses_changed_prompts(fork_cli, folder, photos, tmp_path):
    pf = tmp_path/'prompts.txt'
    pf.write_text('church\ta church\ntench\ta tench\nx\tx\n')
    out = tmp_path/'out'
    r = fork_cli('mgd3_distill', *dargs(folder, photos, out, prompts=pf, negative_prompt='church')); assert r.returncode == 0, r.stderr
    m = manifest(out)
    assert [c['prompt'] for c in m['classes']] == ['a church', 'a tench', 'x'] and m['settings']['config']['negative_prompt'] == 'church'
    pf.write_text('church\ta church\ntench\ttench\nx\tx\n')
    assert_clean_error(fork_cli('mgd3_distill', *dargs(folder, photos, out, '--resume', prompts=pf, negative_prompt='church')), '(prompts differ)')


BAD = {   # id: (options, words of the one error line)
    'sd option with a dit model': (lambda F, D, R: dict(model=None, data=None, stop_timestep=400),
                                   '--stop_timestep applies to Stable Diffusion models only, but --model fmnist-dit is a class-conditional model; its stop point is --stop_t'),
    'dit option with sd':         (lambda F, D, R: dict(stop_t=2), 'is a Stable Diffusion model; its stop point is --stop_timestep'),
    'ddim with sd':               (lambda F, D, R: dict(sampler='ddim'), 'DDPM only'),
    'prompt file misses a class': (lambda F, D, R: dict(prompts=R/'short.txt'), "has no prompt for class folder(s) x (1 of 3); add a line 'x<TAB>prompt'"),
    'malformed prompt file':      (lambda F, D, R: dict(prompts=R/'bad.txt'), "line 1: expected 'folder<TAB>prompt'"),
    'missing prompt file':        (lambda F, D, R: dict(prompts=R/'nope.txt'), 'cannot read the prompts file'),
    'template and file':          (lambda F, D, R: dict(prompts=R/'short.txt', prompt_template='{}'), 'not both'),
    'prompt too long':            (lambda F, D, R: dict(prompt_template='a tench in a church in a church {}'), 'tokens long, more than the 10'),
    'template without {}':        (lambda F, D, R: dict(prompt_template='a photo'), 'must contain {}'),
    'bad posterior':              (lambda F, D, R: dict(posterior='mode'), "unknown --posterior 'mode'"),
    'stop timestep out of range': (lambda F, D, R: dict(stop_timestep=1001), '--stop_timestep must be an integer in 0..1000'),
    'not an sd folder':           (lambda F, D, R: dict(model=R/'half'), 'is not a Stable Diffusion model folder: no unet/config.json'),
    'data at another size':       (lambda F, D, R: dict(size=10), "the data's latents are 4x5x5"),
    'missing data':               (lambda F, D, R: dict(data=R/'nowhere'), 'does not exist'),
}


@pytest.mark.parametrize('case', list(BAD))
def test_cli_bad_input_one_line(fork_cli, folder, photos, tmp_path, case):
    (tmp_path/'short.txt').write_text('church\ta church\ntench\ta tench\n'); (tmp_path/'bad.txt').write_text('church a church\n')
    (tmp_path/'half').mkdir(); (tmp_path/'half'/'model_index.json').write_text('{"_class_name": "StableDiffusionPipeline"}')
    opts, needle = BAD[case]
    o = opts(folder, photos, tmp_path)
    args = dargs(folder, photos, tmp_path/'new'/'out', **{k: v for k, v in o.items() if v is not None})
    for k in (k for k, v in o.items() if v is None):   # options to leave out
        i = args.index(f'--{k}'); del args[i:i+2]
    assert_clean_error(fork_cli('mgd3_distill', *args), needle)
    assert not (tmp_path/'new').exists()   # nothing written


def test_cli_missing_transformers_names_the_extra(folder, photos, tmp_path):
    code = ("import sys; sys.modules['transformers'] = None\n"
            f"sys.argv = ['mgd3_distill'] + {dargs(folder, photos, tmp_path/'out')!r}\n"
            "from mgd3.distill import mgd3_distill\nmgd3_distill()\n")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300, env=ENV)
    assert_clean_error(r, 'needs the `transformers` package', 'pip install "mgd3[sd]"')
    assert not (tmp_path/'out').exists()


def test_cli_two_processes_write_the_same_bytes(folder, photos, tmp_path):
    "accelerate launch with 2 processes (CPU, gloo): the classes are shared out, the set is one process's, byte for byte."
    import socket
    with socket.socket() as so: so.bind(('127.0.0.1', 0)); port = so.getsockname()[1]
    opts = dict(batch_size=2)   # one class per chunk: process 0 takes church and x, process 1 tench
    r1 = subprocess.run([*MGD3_DISTILL, *dargs(folder, photos, tmp_path/'one', **opts)], capture_output=True, text=True, timeout=300, env=ENV)
    assert r1.returncode == 0, r1.stderr
    r2 = subprocess.run([sys.executable, '-m', 'accelerate.commands.launch', '--multi_gpu', '--num_processes', '2', '--main_process_port', str(port),
                         '-m', 'mgd3.distill', *dargs(folder, photos, tmp_path/'two', **opts)], capture_output=True, text=True, timeout=300, env=ENV)
    assert r2.returncode == 0, r2.stderr
    assert '2 processes' in r2.stdout and pngs(tmp_path/'two') == pngs(tmp_path/'one') and len(pngs(tmp_path/'one')) == 6
    m = manifest(tmp_path/'two')
    assert [c['process'] for c in m['classes']] == [0, 1, 0] and m['settings'] == manifest(tmp_path/'one')['settings']
