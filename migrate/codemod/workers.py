"""The worker processes of `run`: every file is processed in a child process, one file at a time per
worker, so that nothing a file does to the parser can stop the run.

A worker that dies (libcst's native parser overflowing its stack: SIGSEGV; an allocation failing:
SIGABRT), exceeds the CPU-time limit of one file (`guard.FILE_CPU_SECONDS`, enforced by the kernel:
RLIMIT_CPU, SIGXCPU) or goes `FILE_WALL_SECONDS_FACTOR` times as long in wall time without a result (it
is killed) is replaced by a fresh one; its file is reported as skipped with the reason, and the run goes on. Each file may also
use `guard.FILE_MEMORY_BYTES` of address space beyond the worker's own (RLIMIT_AS: Python raises
MemoryError, the engine reports the file). Workers never write a core file and leave Ctrl-C to the
parent, which stops them.

This is also the `--jobs 1` path: one worker (forked: it starts in a few milliseconds with the tables
and the rules of the parent already loaded). Files go to a worker in batches (`batch_size`) and each
result comes back as soon as it is ready, except that files never parsed come back as a count.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait

from migrate.codemod import guard
from migrate.codemod.engine import FileResult, process_file

# A file that keeps a worker busy this long without finishing is killed (a read that blocks, a worker
# starved of CPU for minutes); the CPU-time limit (guard.FILE_CPU_SECONDS) normally acts first.
FILE_WALL_SECONDS_FACTOR = 10


def file_wall_seconds() -> float:
    return guard.FILE_CPU_SECONDS * FILE_WALL_SECONDS_FACTOR


def _vm_bytes() -> int | None:
    """This process's address space now (Linux: /proc/self/statm), None where unknown."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _set_soft(limit: int, value: int) -> None:
    soft, hard = resource.getrlimit(limit)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    try:
        resource.setrlimit(limit, (value, hard))
    except (ValueError, OSError):
        pass  # not supported here: the parent's wall-time limit still holds


def _limit_cpu() -> None:
    """CPU time for the next file: what this worker has used so far plus FILE_CPU_SECONDS."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _set_soft(resource.RLIMIT_CPU, int(usage.ru_utime + usage.ru_stime) + 1 + guard.FILE_CPU_SECONDS)


def _limit_memory() -> None:
    """Address space for the next files: what this worker has mapped now plus FILE_MEMORY_BYTES."""
    vm = _vm_bytes()
    if vm is not None:
        _set_soft(resource.RLIMIT_AS, vm + guard.FILE_MEMORY_BYTES)


# A worker reports the files it never parsed (no `tensorflow` in them: most files of most trees) as a
# count, at most this many seconds late: one message per file would wake the parent once per file.
FLUSH_SECONDS = 0.2


def _serve(conn, started, err_fd: int | None, args: tuple) -> None:
    """A worker: receive a batch of paths and process them in order, until None or the parent goes away.

    Messages: a FileResult, sent as soon as its file is done, or an int k: the next k files were never
    parsed (unchanged, nothing to report). `started` (shared memory) counts the files begun, so the
    parent knows which file was running if this process dies.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if err_fd is not None:  # what a dying parser prints goes to the report (-v, --json), not the terminal
        os.dup2(err_fd, 2)
        os.close(err_fd)
    _set_soft(resource.RLIMIT_CORE, 0)  # a crash leaves no core file in the user's tree
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        _limit_memory()
        quiet, flushed = 0, time.monotonic()
        try:
            for path in batch:
                _limit_cpu()
                started.value += 1
                result = process_file(path, *args)
                if result == FileResult(path):
                    quiet += 1
                    if time.monotonic() - flushed < FLUSH_SECONDS:
                        continue
                if quiet:
                    conn.send(quiet)
                    quiet, flushed = 0, time.monotonic()
                if result != FileResult(path):
                    conn.send(result)
            if quiet:
                conn.send(quiet)
        except (BrokenPipeError, OSError):
            return


def _died(path: str, exitcode: int | None, killed_for_time: bool, stderr: str) -> FileResult:
    """The result of a file whose worker died or was killed while processing it (`stderr`: the end of
    what the worker printed, kept as the result's `traceback`)."""
    result = _why(path, exitcode, killed_for_time)
    result.traceback = stderr
    return result


def _why(path: str, exitcode: int | None, killed_for_time: bool) -> FileResult:
    keep = "left byte-identical"
    if killed_for_time:
        why = (f"time limit exceeded (no result after {file_wall_seconds():g} s: {FILE_WALL_SECONDS_FACTOR} x "
               f"FILE_CPU_SECONDS); {keep}; split the module, or port it by hand")
        return FileResult(path, status="skipped", reason=why)
    sig = -exitcode if exitcode is not None and exitcode < 0 else None
    name = signal.Signals(sig).name if sig in signal.Signals.__members__.values() else f"signal {sig}"
    if sig == signal.SIGXCPU:
        why = (f"time limit exceeded (more than {guard.FILE_CPU_SECONDS} s of CPU: FILE_CPU_SECONDS); {keep}; "
               "split the module, or port it by hand")
    elif sig in (signal.SIGSEGV, signal.SIGBUS):
        why = (f"parser crashed ({name} in its worker, which was replaced: usually a native stack overflow on an "
               f"expression nested too deeply); {keep}; simplify the deepest expression, or port this module "
               "by hand; please report it with the file")
    elif sig == signal.SIGABRT:
        why = (f"parser crashed (SIGABRT in its worker, which was replaced: usually memory exhausted, a worker "
               f"may use {guard.FILE_MEMORY_BYTES / 1024**3:g} GiB per file: FILE_MEMORY_BYTES); {keep}; split "
               "the module, or port it by hand")
    elif sig == signal.SIGKILL:
        why = (f"worker killed (SIGKILL, by the system: usually out of memory); {keep}; split the module, or "
               "port it by hand")
    else:
        how = name if sig is not None else f"exit code {exitcode}"
        why = f"worker died ({how}; it was replaced); {keep}; please report it with the file"
    return FileResult(path, status="skipped", reason=why)


class _Worker:
    def __init__(self, ctx, args: tuple):
        self.conn, child = ctx.Pipe()
        self.err = tempfile.TemporaryFile()  # the worker's stderr (unlinked: nothing left behind)
        fd = self.err.fileno() if ctx.get_start_method() == "fork" else None
        self.started = ctx.RawValue("q", 0)  # files the worker has begun (it counts)
        self.reported = 0                    # files the parent has results for
        self.proc = ctx.Process(target=_serve, args=(child, self.started, fd, args), daemon=True)
        self.proc.start()
        child.close()
        self.batch: deque[str] = deque()  # given, not yet reported, in order
        self.deadline = 0.0

    def give(self, batch: list[str]) -> None:
        self.conn.send(batch)
        self.batch.extend(batch)
        self.deadline = time.monotonic() + file_wall_seconds()

    def stderr_tail(self, limit: int = 4000) -> str:
        """The end of what the worker wrote to its stderr (workers print nothing unless they fail)."""
        try:
            size = os.fstat(self.err.fileno()).st_size
            self.err.seek(max(0, size - limit))
            return self.err.read().decode("utf-8", errors="replace")
        except (OSError, ValueError):
            return ""

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        else:
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        self.proc.join(timeout=None if kill else 5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()
        self.err.close()


def batch_size(files: int, jobs: int) -> int:
    """Files sent to a worker at once: fewer round trips on large trees (most files there never mention
    TensorFlow: a few microseconds each), one at a time on small ones."""
    return max(1, min(64, files // (jobs * 8)))


def process_files(files: Sequence[str], args: tuple, jobs: int,
                  progress: Callable[[FileResult], None] | None = None) -> list[FileResult]:
    """`process_file(path, *args)` for every path, in up to `jobs` worker processes; results in the order
    they complete (`progress` is called with each as it arrives).

    Each worker gets `batch_size` files at a time and reports each as it finishes, so the parent always
    knows which file a worker is on: when it dies or overruns, that file is reported as skipped, the rest
    of its batch goes back to the queue, and a fresh worker takes its place.
    """
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    pending = deque(files)
    size = batch_size(len(files), jobs)
    results: list[FileResult] = []
    idle: list[_Worker] = []
    busy: list[_Worker] = []

    def done(result: FileResult) -> None:
        results.append(result)
        if progress:
            progress(result)

    try:
        idle.extend(_Worker(ctx, args) for _ in range(min(jobs, len(files))))
        while pending or busy:
            while idle and pending:
                worker = idle.pop()
                batch = [pending.popleft() for _ in range(min(size, len(pending)))]
                try:
                    worker.give(batch)
                except (BrokenPipeError, OSError):  # died while idle: a new one takes the files
                    worker.stop(kill=True)
                    idle.append(_Worker(ctx, args))
                    pending.extendleft(reversed(batch))
                    continue
                busy.append(worker)
            timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout)
            for worker in list(busy):
                failed = False
                while worker.batch and worker.conn.poll():
                    try:
                        message = worker.conn.recv()
                    except (EOFError, OSError):
                        failed = True
                        break
                    worker.deadline = time.monotonic() + file_wall_seconds()  # progress: a new limit
                    for _ in range(message if isinstance(message, int) else 1):
                        path = worker.batch.popleft()
                        worker.reported += 1
                        done(FileResult(path) if isinstance(message, int) else message)
                if not worker.batch:
                    busy.remove(worker)
                    idle.append(worker)
                    continue
                timed_out = not failed and worker.proc.is_alive() and time.monotonic() >= worker.deadline
                if not failed and worker.proc.is_alive() and not timed_out:
                    continue  # still working
                stderr = worker.stderr_tail()
                worker.stop(kill=True)
                # Files begun before the one it was on, and not reported, were never parsed (their count
                # was not sent yet); the one it was on is skipped; the rest go back to the queue.
                for _ in range(max(0, worker.started.value - 1 - worker.reported)):
                    done(FileResult(worker.batch.popleft()))
                if worker.started.value > worker.reported and worker.batch:
                    done(_died(worker.batch.popleft(), worker.proc.exitcode, timed_out, stderr))
                pending.extendleft(reversed(worker.batch))
                busy.remove(worker)
                idle.append(_Worker(ctx, args))
    except BaseException:
        for worker in idle + busy:
            worker.stop(kill=True)
        raise
    for worker in idle:
        worker.stop()
    return results
