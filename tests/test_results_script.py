"""scripts/results.py, the command line of mgd3.results: its cell names (unique, and read back the way the
results tutorial reads them), one list of methods, every option the notebooks' commands use, and the committed
records still read, each checked against the settings its name stands for."""
import argparse, importlib.util, json, re, shlex
from pathlib import Path
import pytest
import mgd3.results as R
from mgd3.core import MGD3Error

ROOT = Path(__file__).resolve().parent.parent

def _script():
    spec = importlib.util.spec_from_file_location('results_script', ROOT/'scripts'/'results.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod); return mod

def _cells(mod, **kw):
    a = dict(sweep=None, values=None, ipcs=[1, 10, 50], methods=list(mod.METHODS), seeds=[0, 1, 2]); a.update(kw)
    return list(mod.cells(argparse.Namespace(**a)))

def test_table_cells():
    mod = _script(); cs = _cells(mod)
    assert len(cs) == 3 * 5 * 3 and len({n for n, _ in cs}) == len(cs)
    name, kw = cs[0]
    assert name == 'ipc1-random-seed0' and kw == {'method': 'random', 'ipc': 1, 'seed': 0}
    assert dict(_cells(mod, ipcs=[10], methods=['mgd3_nostop'], seeds=[2]))['ipc10-mgd3_nostop-seed2']['stop_t'] == 0
    assert cs == R.table_cells()

def test_cfg_sweep_cells():
    mod = _script()
    cs = _cells(mod, sweep='cfg', values=[2.0, 1.5], methods=['random', 'dit', 'mgd3'], seeds=[0])
    assert [n for n, _ in cs] == ['sweep-cfg2-dit-ipc10-seed0', 'sweep-cfg2-mgd3-ipc10-seed0',
                                  'sweep-cfg1.5-dit-ipc10-seed0', 'sweep-cfg1.5-mgd3-ipc10-seed0']  # real-image methods dropped
    for n, kw in cs:   # the tutorial's parsing: sweep-cfg{G}-{method}-ipc10-seed{S}
        _, g, m, ipc, s = n.split('-')
        assert float(g[3:]) == kw['guidance_scale'] and mod.METHODS[m]['method'] == kw['method'] and kw['ipc'] == 10 and int(s[4:]) == kw['seed']
        assert R.cell_config(n) == kw

def test_lambda_and_stop_sweeps():
    mod = _script()
    lam = dict(_cells(mod, sweep='lambda', seeds=[1]))
    assert lam['sweep-lambda0.05-ipc10-seed1'] == {'method': 'mgd3', 'mode_guidance_scale': 0.05, 'ipc': 10, 'seed': 1}
    stop = dict(_cells(mod, sweep='stop_t', values=[20.0], seeds=[0]))
    assert stop == {'sweep-stop20-ipc10-seed0': {'method': 'mgd3', 'stop_t': 20, 'ipc': 10, 'seed': 0}}
    assert [n for n, _ in _cells(mod, sweep='stop_t', seeds=[0])] == [f"sweep-stop{t}-ipc10-seed0" for t in (0, 10, 20, 25, 30, 40, 50)]
    assert [n for n, _ in _cells(mod, sweep='lambda', seeds=[0])] == [f"sweep-lambda{v}-ipc10-seed0" for v in ('0', '0.05', '0.1', '0.2', '0.4')]

def test_every_cell_name_reads_back():
    mod = _script()
    every = _cells(mod) + [c for s in R.SWEEPS for c in _cells(mod, sweep=s)]
    assert len(every) == 45 + 15 + 21 + 27 and len({n for n, _ in every}) == len(every)
    for n, kw in every: assert R.cell_config(n) == kw
    with pytest.raises(MGD3Error, match='is not the name of a table or sweep cell'): R.cell_config('ipc10-gan-seed0')

def test_one_list_of_methods():
    mod = _script()
    assert mod.METHODS is R.METHODS and mod.SWEEPS is R.SWEEPS
    acts = {a.dest: a for a in mod.parser()._actions}
    assert acts['methods'].choices == list(R.METHODS) and acts['sweep'].choices == list(R.SWEEPS)

def test_every_option_kept():
    mod = _script(); p = mod.parser()
    flags = {s for a in p._actions for s in a.option_strings}
    assert flags >= {'--ipcs', '--methods', '--seeds', '--sweep', '--values', '--epochs', '--out', '--model', '--recompute',
                     '--metrics_only', '--precision', '--full', '--full_epochs'}
    a = p.parse_args([])
    assert (a.ipcs, a.seeds, a.methods, a.precision, a.full_epochs, a.epochs, a.sweep) == ([1, 10, 50], [0, 1, 2], list(R.METHODS), 'fp32', 20, None, None)
    assert Path(a.out) == ROOT/'results'/'fmnist'

def _commands():
    "Every `python scripts/results.py ...` written in the notebooks and in the script's help, `...` and `[...]` removed."
    texts = [''.join(c['source']) for p in (ROOT/'nbs').rglob('*.ipynb') for c in json.loads(p.read_text())['cells']]
    for t in texts + [(ROOT/'scripts'/'results.py').read_text()]:
        for m in re.finditer(r'python scripts/results\.py([^\n`#"]*)', t):
            if '{' not in m.group(1): yield re.sub(r'\[[^\]]*\]|\.\.\.', ' ', m.group(1))   # not the f-strings that write them

def test_notebook_commands_parse():
    p = _script().parser(); cmds = list(_commands())
    assert len(cmds) >= 10
    for c in cmds:
        try: p.parse_args(shlex.split(c))
        except SystemExit: pytest.fail(f"scripts/results.py does not take: {c}")

def test_recorded_command():
    mod = _script(); p = mod.parser()
    assert mod.command(p.parse_args(['--precision', 'bf16'])) == 'python scripts/results.py --precision bf16'
    assert mod.command(p.parse_args(['--precision', 'bf16', '--out', 'results/fmnist-gen2', '--model', 'M'])) == \
        'python scripts/results.py --precision bf16 --model M --out results/fmnist-gen2'

TABLE = """| method | IPC 1 | IPC 10 | IPC 50 |
|---|---|---|---|
| random | 48.0 ± 8.0 (n=3) | 73.8 ± 0.9 (n=3) | 83.7 ± 0.4 (n=3) |
| kmeans_real | 60.7 ± 0.5 (n=3) | 78.0 ± 0.3 (n=3) | 83.1 ± 0.4 (n=3) |
| dit | 63.3 ± 1.2 (n=3) | 73.0 ± 0.1 (n=3) | 75.9 ± 0.2 (n=3) |
| mgd3_nostop | 64.6 ± 1.3 (n=3) | 79.6 ± 0.8 (n=3) | 82.8 ± 0.4 (n=3) |
| mgd3 | 64.4 ± 2.1 (n=3) | 76.8 ± 0.1 (n=3) | 81.8 ± 0.2 (n=3) |"""

def test_committed_records_read():
    cells, stale = R.current_cells(ROOT/'results'/'fmnist', R.TABLE_GENERATOR)
    assert len(cells) == 69 and stale == []
    for c in cells: R.check_cell(c, 'bf16')
    assert R.results_table(cells) == TABLE
    for d in ('fmnist-bf16', 'fmnist-fp32', 'fmnist-gen2'):
        for c in R.load_cells(ROOT/'results'/d): R.check_cell(c)
    assert [round(c['accuracy'], 2) for c in R.load_cells(ROOT/'results'/'fmnist-full')] == [92.41, 92.39, 92.38]

def test_check_cell_reads_the_settings():
    rec = json.loads((ROOT/'results'/'fmnist'/'ipc10-mgd3_nostop-seed0.json').read_text())
    assert R.check_cell(rec) is rec
    with pytest.raises(MGD3Error, match=r"ipc10-mgd3-seed0: distilled with stop_t=0, but its name stands for stop_t=25"):
        R.check_cell(rec | {'cell': 'ipc10-mgd3-seed0'})
    with pytest.raises(MGD3Error, match=r"distilled with method='mgd3', stop_t=0, guidance_scale=4.0, but its name stands for method='dit', stop_t=25, guidance_scale=2.0"):
        R.check_cell(rec | {'cell': 'sweep-cfg2-dit-ipc10-seed0'})
    with pytest.raises(MGD3Error, match='evaluated in bf16, not fp32'): R.check_cell(rec, 'fp32')

def test_check_cell_refuses_a_record_that_is_not_its_method():
    "A record's name may agree with its settings while the record shows another method: each row's meaning is checked on its own."
    mgd3 = json.loads((ROOT/'results'/'fmnist'/'ipc10-mgd3-seed0.json').read_text())
    assert R.check_cell(mgd3) is mgd3 and R.guided_steps(mgd3['distill']['config']) == 24
    with pytest.raises(MGD3Error, match=r"^ipc10-mgd3-seed0: its record shows sampled images, without modes, guided on 24 steps with λ = 0.1, "
                                        r"but mgd3 means sampled images, with modes, guided on 24 steps with λ = 0.1$"):
        R.check_cell(mgd3 | {'modes_hash': None})      # sampled with no modes to guide toward
    dit = json.loads((ROOT/'results'/'fmnist'/'ipc10-dit-seed0.json').read_text())
    with pytest.raises(MGD3Error, match=r"^ipc10-dit-seed0: its record shows real images, without modes, guided on 0 steps, but dit means sampled"):
        R.check_cell(dit | {'distill': dit['distill'] | {'model_hash': None}})   # no generator: not samples
    nostop = json.loads((ROOT/'results'/'fmnist'/'ipc10-mgd3_nostop-seed0.json').read_text())
    assert R.guided_steps(nostop['distill']['config']) == 49 and R.check_method(nostop) is nostop

def test_every_row_is_what_it_says():
    "The records `run_cell` makes from the table's settings are what each row means (`ROWS`, written apart from `METHODS`)."
    from dataclasses import asdict
    from mgd3.distill import DistillConfig, METHODS as DM
    assert list(R.ROWS) == list(R.METHODS)
    for name, kw in R.table_cells() + R.sweep_cells('cfg'):
        m = DM[kw['method']]
        rec = {'cell': name, 'distill': {'config': asdict(DistillConfig(**kw)), 'model_hash': 'h' if m.generative else None},
               'modes_hash': 'm' if m.finder else None}
        assert R.check_method(rec) is rec, name
