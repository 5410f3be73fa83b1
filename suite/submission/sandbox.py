"""The OS-level sandbox submitted code runs in: bubblewrap (`bwrap`, the tool Flatpak is built on).

One sandbox per worker process (describe, apply, measure). Inside it:

- new user, pid, network, mount, IPC, UTS and cgroup namespaces; uid/gid 65534 with every capability
  dropped, no nested user namespaces, `--die-with-parent`, `--new-session`;
- a root made of read-only binds only: the system's /usr (and /lib*, /bin, /sbin links), a few files of
  /etc, the Python installation, the virtualenv / site-packages, and from the repository only the
  packages a method imports (`suite/`, `methods/`) plus the dataset cards (JSON, no data). The record
  store, `leaderboard/`, `.git`, the harness workdir, $SLIMBENCH_DATA and the dataset cache are simply
  not there (and are covered by an empty tmpfs should one of them lie under a bound directory);
  scikit-learn's bundled data directory (the digits test split's source) is covered too;
- one fresh writable directory, /sandbox (the worker's scratch dir); inputs under it are bound
  read-only on top (request, data arrays, method source, artifacts to measure);
- only a loopback interface of its own: nothing on this machine or beyond can be reached;
- limits set on the bwrap process and inherited by everything inside: address space (the track
  budget's memory_mb), CPU seconds, file size, no core files; the number of processes and threads
  through a `pids` cgroup where one can be created (root on cgroup v1 / a delegated v2 tree), else
  RLIMIT_NPROC (which Linux does not enforce for root: then the pid limit is recorded as absent).

The harness kills the sandbox at the wall-time limit: SIGKILL to bwrap, whose pid-1 reaper then dies
and takes every process of the pid namespace with it (the kernel does this; `setsid` does not help),
and to whatever is still in the cgroup."""
from __future__ import annotations

import importlib.util
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from suite.errors import SlimBenchError
from suite.paths import REPO_ROOT

INSTALL_HINT = ("install bubblewrap: `apt-get install -y bubblewrap` (Debian/Ubuntu), `dnf install bubblewrap` "
                "(Fedora), `pacman -S bubblewrap` (Arch)")
INSIDE = Path("/sandbox")             # the scratch directory as the sandboxed process sees it
SANDBOX_UID = 65534                   # nobody
REPO_PARTS = ("suite", "methods", "datasets", "pyproject.toml")  # all a method needs from the checkout
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "passwd", "group")
DEFAULT_MAX_PROCS = 512               # processes + threads (torch/ORT/TF start one thread per core)
MAX_FILE_BYTES = 4 << 30
TMPFS_BYTES = 256 << 20               # /tmp and /dev/shm inside: RAM-backed, so small
PIDS_CGROUP_V1 = Path("/sys/fs/cgroup/pids")


class SandboxUnavailableError(SlimBenchError):
    """bubblewrap is missing or cannot create its namespaces on this machine."""


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """None when a sandbox can be started here, else why not (with the install command)."""
    bwrap = bwrap_path()
    if bwrap is None:
        return f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}"
    try:
        probe = subprocess.run([bwrap, *_namespace_args(), *_system_binds(), "--", "/bin/true"],
                               capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap ({bwrap}) could not be started: {exc}"
    if probe.returncode != 0:
        return (f"bubblewrap ({bwrap}) cannot create its user/pid/net/mount namespaces here: "
                f"{probe.stderr.strip()[-500:]} (unprivileged user namespaces may be disabled: "
                "sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces)")
    return None


def require_sandbox(who: str) -> None:
    reason = unavailable_reason()
    if reason:
        raise SandboxUnavailableError(f"{who} is submitted code and runs only inside the bubblewrap sandbox, "
                                      f"which is not available: {reason}. Built-in methods do not need it.")


@dataclass
class Limits:
    wall_s: float
    memory_mb: int | None
    cpu_s: int | None = None          # RLIMIT_CPU, per process; default: wall time x cores
    max_procs: int = DEFAULT_MAX_PROCS
    max_file_bytes: int = MAX_FILE_BYTES

    def cpu_seconds(self) -> int:
        return int(self.cpu_s or max(60, self.wall_s * (os.cpu_count() or 1) + 30))


@dataclass
class Mounts:
    """Extra read-only binds into the sandbox (host path -> path inside) and host paths to hide."""
    read_only: list[tuple[Path, Path]] = field(default_factory=list)
    hide: list[Path] = field(default_factory=list)


def _namespace_args() -> list[str]:
    return ["--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--disable-userns", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
            "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--hostname", "sandbox"]


def _system_binds() -> list[str]:
    args = []
    for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES:
        path = Path("/etc") / name
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _python_dirs() -> list[Path]:
    """The interpreter, the standard library, the virtualenv and every site-packages directory."""
    import site
    import sysconfig

    dirs = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        value = sysconfig.get_paths().get(key)
        if value:
            dirs.add(Path(value))
    dirs.update(Path(p) for p in site.getsitepackages())
    system = ("/usr", "/bin", "/sbin", "/lib", "/lib64")
    out = []
    for d in sorted(dirs, key=lambda p: len(p.parts)):
        if d.is_dir() and not str(d).startswith(system) and not any(d == o or o in d.parents for o in out):
            out.append(d)
    return out


def _bundled_data_dirs() -> list[Path]:
    """Data files installed with packages that hold a track's test split (scikit-learn's digits)."""
    found = []
    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            data = Path(loc) / "datasets" / "data"
            if data.is_dir():
                found.append(data)
    return found


def _host_secrets() -> list[Path]:
    """Directories that must never be visible even if they happen to lie under a bound directory."""
    from suite import paths

    out = [paths.PUBLISHED_RESULTS, paths.default_store(), paths.cache_dir(), REPO_ROOT / ".git",
           Path.cwd() / ".slimbench-work"]
    if paths.data_dir():
        out.append(paths.data_dir())
    return out


def command(scratch: Path, argv: list[str], env: dict[str, str], mounts: Mounts | None = None) -> list[str]:
    """The bwrap command line that runs `argv` with `scratch` as the writable /sandbox."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailableError(f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}")
    mounts = mounts or Mounts()
    args = [bwrap, *_namespace_args(), *_system_binds(), "--proc", "/proc", "--dev", "/dev",
            "--size", str(TMPFS_BYTES), "--tmpfs", "/dev/shm", "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp"]
    cpu_sys = Path("/sys/devices/system/cpu")  # thread pools size themselves from it (read-only, no secrets)
    if cpu_sys.is_dir():
        args += ["--ro-bind", str(cpu_sys), str(cpu_sys)]
    bound: list[Path] = []
    for d in _python_dirs():
        args += ["--ro-bind", str(d), str(d)]
        bound.append(d)
    for part in REPO_PARTS:
        path = REPO_ROOT / part
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
            bound.append(path)
    hide = [*_host_secrets(), *mounts.hide, *_bundled_data_dirs()]
    for path in sorted({Path(p).resolve() for p in hide}, key=lambda p: len(p.parts)):
        if path.is_dir() and any(path == b or b in path.parents for b in bound):
            args += ["--perms", "0555", "--tmpfs", str(path)]
    args += ["--bind", str(scratch), str(INSIDE)]
    for host, inside in mounts.read_only:
        args += ["--ro-bind", str(host), str(inside)]
    args += ["--remount-ro", "/", "--chdir", str(INSIDE), "--clearenv"]  # the root itself: read-only too
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return [*args, "--", *argv]


# -- process limits ---------------------------------------------------------------------------------------

class PidsCgroup:
    """A `pids` cgroup for one sandbox, when this process may create one; else None from `create`."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def create(cls, max_procs: int) -> "PidsCgroup | None":
        candidates = []
        if PIDS_CGROUP_V1.is_dir():
            candidates.append(PIDS_CGROUP_V1)
        v2 = Path("/sys/fs/cgroup")
        if (v2 / "cgroup.controllers").is_file():
            try:
                own = Path(open("/proc/self/cgroup").read().strip().splitlines()[-1].split(":", 2)[2].lstrip("/"))
                if "pids" in (v2 / own / "cgroup.subtree_control").read_text().split():
                    candidates.append(v2 / own)
            except (OSError, IndexError):
                pass
        for base in candidates:
            for stale in base.glob("slimbench-sandbox-*"):  # left by a harness that was killed: empty by now
                owner = stale.name.split("-")[2]
                if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                    try:
                        stale.rmdir()
                    except OSError:
                        pass
            path = base / f"slimbench-sandbox-{os.getpid()}-{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                (path / "pids.max").write_text(str(max_procs))
                return cls(path)
            except OSError:
                path.rmdir()
        return None

    def procs_file(self) -> str:
        return str(self.path / "cgroup.procs")

    def kill_all(self) -> None:
        for _ in range(50):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except OSError:
                return
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        self.kill_all()
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)


def _preexec(limits: Limits, cgroup_procs: str | None):
    """Runs in the forked child before bwrap is exec'd: the limits then hold for everything inside."""
    memory = int(limits.memory_mb) * 2**20 if limits.memory_mb else None
    cpu = limits.cpu_seconds()
    is_root = os.geteuid() == 0

    def apply() -> None:
        if cgroup_procs:
            with open(cgroup_procs, "w") as handle:
                handle.write(str(os.getpid()))
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_bytes, limits.max_file_bytes))
        if not is_root:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_procs, limits.max_procs))
    return apply


@dataclass
class SandboxRun:
    returncode: int
    timed_out: bool
    elapsed_s: float
    output_tail: str
    process_limit: str     # how the process count was limited


def run(scratch: Path, argv: list[str], env: dict[str, str], limits: Limits, mounts: Mounts | None = None) -> SandboxRun:
    """Run argv in a fresh sandbox; wait at most limits.wall_s, then kill the whole sandbox."""
    import tempfile

    cmd = command(scratch, argv, env, mounts)
    # The arguments go through a file descriptor (bwrap --args): the sandbox's /proc/1/cmdline (bwrap's
    # reaper) then shows no host path at all.
    args_file = tempfile.TemporaryFile()
    split = cmd.index("--")
    args_file.write(b"".join(a.encode() + b"\0" for a in cmd[1:split]))
    args_file.seek(0)
    cmd = [cmd[0], "--args", str(args_file.fileno()), *cmd[split:]]
    cgroup = PidsCgroup.create(limits.max_procs)
    process_limit = (f"pids cgroup ({limits.max_procs})" if cgroup else
                     f"RLIMIT_NPROC ({limits.max_procs})" if os.geteuid() != 0 else
                     "none (running as root without a writable pids cgroup)")
    log = tempfile.TemporaryFile()  # outside the sandbox: the method cannot rewrite its own log
    start = time.perf_counter()
    timed_out = False
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True, pass_fds=(args_file.fileno(),),
                                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},  # bwrap's reaper (pid 1
                                # inside) keeps the environment it was started with: none of the harness's
                                preexec_fn=_preexec(limits, cgroup.procs_file() if cgroup else None))
        try:
            proc.wait(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # bwrap and its pid-1 reaper: the pid namespace goes with them
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
    finally:
        args_file.close()
        if cgroup:
            cgroup.remove()
    elapsed = time.perf_counter() - start
    log.seek(0, os.SEEK_END)
    log.seek(max(0, log.tell() - 4000))
    tail = log.read().decode(errors="replace").strip()
    log.close()
    return SandboxRun(proc.returncode, timed_out, elapsed, tail, process_limit)
