from django_tasks import task

CALLS: list[int] = []


@task()
def ping() -> None:
    CALLS.append(1)
