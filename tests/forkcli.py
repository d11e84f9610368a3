"""A warm runner for the command-line tools, so that many invocations fit in a short test run.

Importing mgd3 (torch, diffusers, scikit-learn) takes seconds, a tiny run a fraction of that. `ForkCLI` starts one
server process (this file, run as a script) that loads each tool's console-script entry point once; every command
then runs in a child forked from it, with its own argv, working directory, stdout and stderr, and a real exit status:
what a user's shell sees, minus the import. Tests that must act on a command from the outside (kill it, stop it,
race it) `start` it and `wait` for it later; the server reaps it, so a killed command leaves a dead pid behind, as in
a shell.
"""
import json, os, signal, subprocess, sys, time, traceback

class ForkCLI:
    "Run mgd3's console scripts in children forked from one warm process; results are `subprocess.CompletedProcess`."
    def __init__(self, workdir, env=None):
        self.workdir, self.n = str(workdir), 0
        e = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'MGD3_OFFLINE': '1', 'PYTHONUNBUFFERED': '1', **(env or {})}
        self.proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=e)
    def _ask(self, req):
        self.proc.stdin.write(json.dumps(req) + '\n'); self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line: raise RuntimeError('the forking command server died')
        return json.loads(line)
    def _req(self, op, tool, args, cwd, timeout):
        self.n += 1; base = os.path.join(self.workdir, f"cmd{self.n}")
        return dict(op=op, tool=tool, argv=[str(a) for a in args], cwd=str(cwd) if cwd else None,
                    out=base + '.out', err=base + '.err', timeout=timeout)
    def __call__(self, tool, *args, cwd=None, timeout=300):
        "Run `tool args...` to its end (killed after `timeout` s)."
        return self._done(self._ask(self._req('run', tool, args, cwd, timeout)))
    def start(self, tool, *args, cwd=None)->int:
        "Start `tool args...`; returns its pid (send it signals, then collect it with `wait`)."
        return self._ask(self._req('start', tool, args, cwd, 0))['pid']
    def wait(self, pid, timeout=300):
        "Wait for a started command (killed after `timeout` s) and reap it."
        return self._done(self._ask(dict(op='wait', pid=pid, timeout=timeout)))
    @staticmethod
    def _done(r): return subprocess.CompletedProcess(r['args'], r['returncode'], r['stdout'], r['stderr'])
    def close(self):
        self.proc.stdin.close(); self.proc.wait(timeout=60)

def wait_for(cond, timeout=120, every=0.005)->bool:
    "Poll `cond()` until it is true; False after `timeout` seconds."
    t_end = time.time() + timeout
    while time.time() < t_end:
        if cond(): return True
        time.sleep(every)
    return False

def _child(main, tool, r):
    "In the forked child: become `tool argv...` and exit as the console script would."
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(os.open(r['out'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
    os.dup2(os.open(r['err'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if r['cwd']: os.chdir(r['cwd'])
    sys.argv = [tool, *r['argv']]
    try: code = main()
    except SystemExit as x: code = x.code
    except BaseException: traceback.print_exc(); code = 1
    if code is not None and not isinstance(code, int): print(code, file=sys.stderr); code = 1
    sys.stdout.flush(); sys.stderr.flush(); os._exit(code or 0)

def _serve():
    "One JSON request per line on stdin, one JSON reply per line on the original stdout."
    from importlib.metadata import entry_points
    replies = os.fdopen(os.dup(1), 'w')
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray output of the server never mixes with the replies
    mains, jobs = {}, {}
    for line in sys.stdin:
        r = json.loads(line)
        if r['op'] in ('run', 'start'):
            tool = r['tool']
            if tool not in mains:
                (ep,) = entry_points(group='console_scripts', name=tool)
                mains[tool] = ep.load()
            pid = os.fork()
            if pid == 0: _child(mains[tool], tool, r)
            jobs[pid] = r
            if r['op'] == 'start': replies.write(json.dumps({'pid': pid}) + '\n'); replies.flush(); continue
            r = {'op': 'wait', 'pid': pid, 'timeout': r['timeout']}
        pid, t_end, status = r['pid'], time.time() + r['timeout'], None
        while status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done: status = os.waitstatus_to_exitcode(st)
            elif time.time() > t_end: os.kill(pid, signal.SIGKILL)
            else: time.sleep(0.01)
        j = jobs.pop(pid)
        replies.write(json.dumps({'returncode': status, 'stdout': open(j['out']).read(), 'stderr': open(j['err']).read(),
                                  'args': [j['tool'], *j['argv']]}) + '\n')
        replies.flush()

if __name__ == '__main__': _serve()
