"""A real PostgreSQL server for the tests: the project's own local server (mnist_app.serving.postgres, Debian's
`postgresql` package) on 127.0.0.1 in a temporary folder, stopped and removed when the test session ends. Never a
mock. Where no server can be had, `unavailable()` says why, and the tests that need one skip with that reason."""

from mnist_app.serving.postgres import LocalPostgres, unavailable


class Server(LocalPostgres):
    """A throw-away cluster (no fsync) for one test session."""

    def __init__(self):
        super().__init__(durable=False)

    def stop(self) -> None:
        super().stop(remove=True)


__all__ = ["Server", "unavailable"]
