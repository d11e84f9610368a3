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
    from mgd3.pipeline import tiny_dit_xl_folder
    return tiny_dit_xl_folder(out)

def digest(d)->dict:
    "sha256 of every PNG under d, by relative path."
    import hashlib
    return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(d).rglob('*.png'))}
