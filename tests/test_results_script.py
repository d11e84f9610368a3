"The cell names of scripts/results.py: unique, and parsed back the way nbs/10_results reads them."
import argparse, importlib.util
from pathlib import Path

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

def test_cfg_sweep_cells():
    mod = _script()
    cs = _cells(mod, sweep='cfg', values=[2.0, 1.5], methods=['random', 'dit', 'mgd3'], seeds=[0])
    assert [n for n, _ in cs] == ['sweep-cfg2-dit-ipc10-seed0', 'sweep-cfg2-mgd3-ipc10-seed0',
                                  'sweep-cfg1.5-dit-ipc10-seed0', 'sweep-cfg1.5-mgd3-ipc10-seed0']  # real-image methods dropped
    for n, kw in cs:   # the notebook's parsing: sweep-cfg{G}-{method}-ipc10-seed{S}
        _, g, m, ipc, s = n.split('-')
        assert float(g[3:]) == kw['guidance_scale'] and mod.METHODS[m]['method'] == kw['method'] and kw['ipc'] == 10 and int(s[4:]) == kw['seed']

def test_lambda_and_stop_sweeps():
    mod = _script()
    lam = dict(_cells(mod, sweep='lambda', seeds=[1]))
    assert lam['sweep-lambda0.05-ipc10-seed1'] == {'method': 'mgd3', 'mode_guidance_scale': 0.05, 'ipc': 10, 'seed': 1}
    stop = dict(_cells(mod, sweep='stop_t', values=[20.0], seeds=[0]))
    assert stop == {'sweep-stop20-ipc10-seed0': {'method': 'mgd3', 'stop_t': 20, 'ipc': 10, 'seed': 0}}
