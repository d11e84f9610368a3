"The installed library imports without notebook tooling."
import subprocess, sys

def test_import_without_nbdev():
    code = ("import sys; sys.modules['nbdev'] = None; sys.modules['execnb'] = None\n"
            "import mgd3.core, mgd3.data, mgd3.latents, mgd3.generator\n"
            "print('ok')")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == 'ok', r.stderr
