import os, subprocess, sys
import pytest

@pytest.fixture
def run_cli():
    "Run an mgd3 command-line tool in a subprocess; returns the CompletedProcess."
    def _run(*args, timeout=300, env=None, cwd=None):
        e = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'MGD3_OFFLINE': '1', **(env or {})}
        return subprocess.run([*args], capture_output=True, text=True, timeout=timeout, env=e, cwd=cwd)
    return _run

def assert_clean_error(r, *needles):
    "A bad input gives a non-zero exit, one line on stderr naming the problem, and no traceback."
    assert r.returncode != 0, (r.stdout, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert 'Traceback' not in r.stderr
    for n in needles: assert n in lines[0], lines[0]

@pytest.fixture(scope='session')
def fork_cli(tmp_path_factory):
    "A warm `ForkCLI` (see forkcli.py): run many tool invocations without paying the import each time."
    from forkcli import ForkCLI
    c = ForkCLI(tmp_path_factory.mktemp('forkcli'))
    yield c
    c.close()

def save_model(path, model, names=None):
    "Save a DiT as an mgd3 model folder (the pipeline's save_pretrained), with class names when given."
    from mgd3.pipeline import ModeGuidedDiTPipeline
    from mgd3.dit import dit_scheduler
    return ModeGuidedDiTPipeline(model, dit_scheduler(), id2label=None if names is None else dict(enumerate(names))).save_pretrained(path)
