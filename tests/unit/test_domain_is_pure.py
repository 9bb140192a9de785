"""domain/ imports nothing that does I/O."""

import subprocess
import sys

FORBIDDEN = ["psycopg", "duckdb", "kafka", "fastapi", "sqlite3", "pyarrow", "socket", "uvicorn"]


def test_importing_the_domain_loads_no_io_library():
    code = (
        "import sys, pkgutil, importlib, domain\n"
        "for m in pkgutil.walk_packages(domain.__path__, 'domain.'): importlib.import_module(m.name)\n"
        f"print(sorted(n for n in {FORBIDDEN!r} if n in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
