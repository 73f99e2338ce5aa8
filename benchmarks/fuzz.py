"""schemathesis over the whole API with auth on, for longer than ``make test`` does.

Run: ``.venv/bin/python benchmarks/fuzz.py`` (``--max-examples N`` generated cases per
operation and mode, 100 by default; ``--admin`` fuzzes as an admin instead of an
ordinary user; ``--postgres URL`` runs on a PostgreSQL database instead of SQLite).

The app runs in this process with ``CASTSMITH_AUTH=required`` and a bearer token; the
same seven checks as tests/integration/api/test_schema_fuzz.py run (server errors,
status codes, content types, response schemas, schema-valid data accepted,
schema-violating data rejected, undeclared methods answered 405). It prints the cases
sent, the answers by status, the failures per check (each one, then a count), the
schema-valid requests refused for a documented reason, and the time taken. The exit
status is 1 when a check failed.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where sibling benchmarks (such
# as queue.py) would shadow standard-library modules.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import tempfile  # noqa: E402

from tests.fuzzing import CHECKS, FuzzReport, run_fuzz  # noqa: E402

from castsmith.api.app import create_app  # noqa: E402
from castsmith.auth.tokens import display_prefix, new_token, token_hash  # noqa: E402
from castsmith.bootstrap import build_container  # noqa: E402
from castsmith.config import Settings  # noqa: E402
from castsmith.db.engine import make_engine  # noqa: E402
from castsmith.db.migrate import upgrade  # noqa: E402
from castsmith.db.repositories.users import UserRepository  # noqa: E402


def fuzz(max_examples: int, *, admin: bool, database_url: str | None) -> FuzzReport:
    """One run on a fresh database and data folder."""
    with tempfile.TemporaryDirectory(prefix="castsmith-fuzz-") as folder:
        url = database_url or f"sqlite:///{folder}/castsmith.db"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        container = build_container(Settings(data_dir=folder, database_url=url, auth="required"))
        try:
            raw = new_token()
            with container.sessions.begin() as session:
                users = UserRepository(session)
                user = users.create("fuzzer", admin=admin)
                users.add_token(user, token_hash=token_hash(raw), prefix=display_prefix(raw))
            headers = {"Authorization": f"Bearer {raw}"}
            return run_fuzz(create_app(container), max_examples=max_examples, headers=headers)
        finally:
            container.close()


def show(report: FuzzReport) -> None:
    """Print the counts (and every failure) of a run."""
    print(f"cases: {report.cases} in {report.seconds:.1f} s")
    print("answers: " + ", ".join(f"{s}: {n}" for s, n in sorted(report.statuses.items())))
    if report.failure_count() or report.errors:
        print(report.describe())
    for check in CHECKS:
        print(f"  {check:<30} failures: {len(report.failures.get(check, []))}")
    print(f"engine errors: {len(report.errors)}")
    print("slowest operations:")
    for label, seconds in report.slowest.most_common(5):
        print(f"  {seconds:>7.1f} s  {label}")
    semantic = sum(report.semantic.values())
    print(f"schema-valid requests refused for a documented reason: {semantic}")
    for label, count in report.semantic.most_common():
        print(f"  {count:>5}  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--admin", action="store_true", help="fuzz as an admin")
    parser.add_argument("--postgres", metavar="URL", help="a migrated-or-empty database URL")
    args = parser.parse_args()
    report = fuzz(args.max_examples, admin=args.admin, database_url=args.postgres)
    show(report)
    sys.exit(1 if report.failure_count() or report.errors else 0)


if __name__ == "__main__":
    main()
