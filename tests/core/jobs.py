from django_tasks import task

CALLS: list[int] = []


@task()
def ping() -> None:
    CALLS.append(1)


@task()
def hold(marker_dir: str, seconds: float) -> None:
    """A long job with a child process of its own, like the analytics recompute's model fit
    (`insights.isolation` spawns one): for the tests that stop `fideliza run` mid-job."""
    import multiprocessing
    import os
    import time
    from pathlib import Path

    child = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(seconds,), daemon=True)
    child.start()
    Path(marker_dir, "hold.pid").write_text(f"{os.getpid()} {child.pid}")
    child.join()


@task()
def touch(path: str) -> None:
    """Leaves a file behind: proof, across processes, that a worker ran the task."""
    from pathlib import Path

    Path(path).write_text("ran")
