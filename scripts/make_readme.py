#!/usr/bin/env python
"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which is not installable here).

Markdown cells are copied; code cells become ```python blocks followed by their text output; cells
marked `#| hide` are skipped and directive lines (`#| ...`) are dropped. `--check` fails if README.md
is out of date instead of writing it.
"""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
nb = json.loads((root/'nbs'/'index.ipynb').read_text())

def src(cell): return ''.join(cell['source'])

def text_output(cell):
    out = []
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream': out.append(''.join(o['text']))
        elif 'data' in o and 'text/plain' in o['data']: out.append(''.join(o['data']['text/plain']) + '\n')
    return ''.join(out).rstrip('\n')

parts = ["<!-- Generated from nbs/index.ipynb by scripts/make_readme.py; do not edit by hand. -->"]
for cell in nb['cells']:
    s = src(cell)
    lines = s.splitlines()
    if cell['cell_type'] == 'markdown':
        parts.append(s.strip())
    elif cell['cell_type'] == 'code':
        if any(l.strip().replace(' ', '') in ('#|hide',) for l in lines): continue
        code = '\n'.join(l for l in lines if not l.lstrip().startswith('#|')).strip()
        if not code: continue
        parts.append(f"```python\n{code}\n```")
        out = text_output(cell)
        if out: parts.append(f"```\n{out}\n```")
readme = '\n\n'.join(parts) + '\n'
path = root/'README.md'
if '--check' in sys.argv:
    if not path.exists() or path.read_text() != readme:
        sys.exit("README.md is out of date with nbs/index.ipynb: run `python scripts/make_readme.py` and commit it")
    print("README.md is up to date")
else:
    path.write_text(readme); print(f"wrote {path}")
