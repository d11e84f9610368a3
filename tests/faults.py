"""Run an mgd3 command with an operating-system fault injected, as a user's shell would see it.

    python tests/faults.py TOOL ARGS...

with the fault named in the environment: MGD3_FAULT=<errno name>:<n>:<where> makes the (n+1)-th file write of kind
<where> fail with that errno. Kinds: `fsync` (a file's data reaching the disk: how a full disk shows in mgd3's atomic
writes), `open` (opening a file for writing: a folder the user may not write, a read-only file system), `safetensors`
(a safetensors file written by a library, e.g. diffusers' save_pretrained). MGD3_FAULT_MATCH, if set, counts only
paths containing it.
"""
import builtins, errno, os, sys

def _inject():
    name, n, where = os.environ['MGD3_FAULT'].split(':')
    code, left, match = getattr(errno, name), [int(n)], os.environ.get('MGD3_FAULT_MATCH', '')
    def fail(path):
        if match and match not in str(path): return
        if left[0] > 0: left[0] -= 1; return
        raise OSError(code, os.strerror(code), None if where == 'fsync' else str(path))
    if where == 'fsync':
        real = os.fsync
        def fsync(fd):
            fail(os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else ''); return real(fd)
        os.fsync = fsync
    elif where == 'open':
        real_open = builtins.open
        def open_(file, mode='r', *a, **k):
            if any(c in mode for c in 'wax+') and not isinstance(file, int): fail(file)
            return real_open(file, mode, *a, **k)
        builtins.open = open_
    elif where == 'safetensors':
        import safetensors.torch as st
        real_save = st.save_file
        def save_file(tensors, filename, *a, **k): fail(filename); return real_save(tensors, filename, *a, **k)
        st.save_file = save_file
    else: raise SystemExit(f"unknown fault kind {where!r}")

if __name__ == '__main__':
    from importlib.metadata import entry_points
    tool = sys.argv[1]; sys.argv = sys.argv[1:]
    (ep,) = entry_points(group='console_scripts', name=tool)
    main = ep.load()
    if os.environ.get('MGD3_FAULT'): _inject()
    sys.exit(main())
