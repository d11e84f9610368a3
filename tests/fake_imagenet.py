"""Fixtures for the paper-scale tests: a fake ImageNet train folder and a random model with DiT-XL/2's structure."""
from pathlib import Path
import numpy as np
from PIL import Image

def make_fake_imagenet(root, subset='imagenette', n=10, size=(20, 24), seed=0)->Path:
    "ROOT/<wnid>/<wnid>_<i>.JPEG: n random RGB images (height x width = size) per class of `subset`."
    from mgd3.data import imagenet_subset
    root, rng = Path(root), np.random.default_rng(seed)
    for k, sc in enumerate(imagenet_subset(subset)):
        (root/sc.wnid).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            a = rng.integers(0, 256, (*size, 3), dtype=np.uint8); a[:, :, k % 3] = 40 + 20 * k
            Image.fromarray(a).save(root/sc.wnid/f"{sc.wnid}_{i}.JPEG", quality=95)
    return root

def make_tiny_dit_xl(out)->Path:
    "A DiTPipeline directory laid out like facebook/DiT-XL-2-256 (legacy class name, DPM-Solver scheduler), tiny and random."
    from diffusers import DPMSolverMultistepScheduler
    from mgd3.core import tiny_dit, tiny_vae
    from mgd3.pipeline import save_dit_pipeline
    return save_dit_pipeline(out, tiny_dit(in_channels=4, sample_size=8, num_classes=1000), tiny_vae(in_channels=3),
                             DPMSolverMultistepScheduler(), transformer_class='Transformer2DModel')

def digest(d)->dict:
    "sha256 of every PNG under d, by relative path."
    import hashlib
    return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(d).rglob('*.png'))}
