"""mgd3.sd: text-to-image MGD³ with Stable Diffusion, on tiny random components built here from configs.

The CLIP vocabulary is written by this file (vocab.json + merges.txt), so `CLIPTokenizer` loads for real;
the DDPM reference below is written from the equations in float64 and shares no code with diffusers'
scheduler or the pipeline's CFG."""
import copy, json, os, subprocess, sys, zlib
from pathlib import Path
import numpy as np
import pytest
import torch

pytest.importorskip('transformers')
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
from diffusers import AutoencoderKL, UNet2DConditionModel
from mgd3.core import MGD3Error, item_seed
from mgd3.data import ImageSet
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
    M, rows = sd.sd_class_modes(space, data, 1, 2, seed=0, batch_size=2, device='cpu')
    xf = x[5:].float() / 127.5 - 1
    with torch.no_grad(): mean, logvar = pipe.vae.quant_conv(pipe.vae.encoder(xf)).chunk(2, dim=1)
    eps = torch.cat([torch.randn(1, 4, 4, 4, generator=torch.Generator().manual_seed(sd.image_seed(2, xi))) for xi in xf])
    z = (mean + torch.exp(0.5 * logvar.clamp(-30, 20)) * eps) * pipe.vae.config.scaling_factor
    assert torch.allclose(M.flatten(1), torch.from_numpy(KMeans(2, random_state=0, n_init='auto').fit(z.flatten(1).numpy()).cluster_centers_).float(), atol=1e-5)
    assert rows is None


def test_distill_sd_writes_one_image_per_mode(pipe, tmp_path):
    x = torch.randint(0, 256, (6, 3, 8, 8), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    data = ImageSet(x, [0, 0, 0, 1, 1, 1], ['tench', 'church'], 'toy')
    man = sd.distill_sd(pipe, data, 2, tmp_path/'out', num_inference_steps=2, output_size=4, progress=False)
    assert sorted(p.relative_to(tmp_path/'out').as_posix() for p in (tmp_path/'out').rglob('*.png')) == \
        ['church/000.png', 'church/001.png', 'tench/000.png', 'tench/001.png']
    assert json.loads((tmp_path/'out'/'manifest.json').read_text())['classes']['church']['seeds'] == man['classes']['church']['seeds']
    one_line(lambda: sd.distill_sd(pipe, data, 4, tmp_path/'out2', progress=False), 'fewer than ipc=4')
    assert not (tmp_path/'out2').exists()


def test_missing_transformers_names_the_extra():
    code = ("import sys; sys.modules['transformers'] = None\n"
            "import mgd3.sd as s\n"
            "from mgd3.core import MGD3Error\n"
            "try: s.ModeGuidedStableDiffusionPipeline.from_pretrained('x')\n"
            "except MGD3Error as e: print(e)\n")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1].endswith('pip install "mgd3[sd]"'), r.stdout
