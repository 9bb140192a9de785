"""DuckDB lets one process write a warehouse file: an API process that cannot open it says so."""

import subprocess
import sys

from fastapi.testclient import TestClient

from api.app import create_app


def test_analytics_answer_503_when_another_process_holds_the_warehouse(embedded):
    path = embedded.settings.olap_file
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}); print('ready', flush=True); "
            "sys.stdin.readline()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        answer = TestClient(create_app(embedded)).get("/v1/analytics/close-rate")
        assert answer.status_code == 503
        assert answer.json()["code"] == "warehouse_unavailable"
    finally:
        holder.communicate("\n", timeout=10)
