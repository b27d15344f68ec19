"""What the stdio supervisor costs: start time and memory per server.

Starts a trivial server (`/bin/true`, so the figure is the supervisor's own cost, not a
server's) directly and under the supervisor, alternately, and prints the median wall time
from spawn to exit. Then starts `sleep 30` both ways and prints the supervisor process's own
resident memory (VmRSS, and Pss: its share once pages shared with other Python processes are
split) next to that of the server.

Run: .venv/bin/python bench/supervisor.py [--runs 50]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))

from mcp_orch_app.gateway.stdio_process import supervised_argv  # noqa: E402


def spawn_to_exit(argv: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, stdin=subprocess.DEVNULL, start_new_session=True, check=True)
    return time.perf_counter() - began


def memory_kib(pid: int) -> dict[str, int]:
    figures = {}
    for name in ("status", "smaps_rollup"):
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Pss"):
                figures[key] = int(value.split()[0])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs
    direct, supervised = [], []
    for _ in range(runs):
        direct.append(spawn_to_exit(["/bin/true"]))
        supervised.append(spawn_to_exit(supervised_argv("/bin/true", [])))
    d, s = statistics.median(direct) * 1000, statistics.median(supervised) * 1000
    print(f"spawn to exit, median of {runs}: direct {d:.1f} ms, supervised {s:.1f} ms")
    print(f"added start time: {s - d:.1f} ms per server start")

    process = subprocess.Popen(supervised_argv("/bin/sleep", ["30"]), start_new_session=True)
    try:
        time.sleep(1.0)
        server = int(
            Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()[0]
        )
        own, child = memory_kib(process.pid), memory_kib(server)
        print(
            f"supervisor: VmRSS {own['VmRSS']} KiB, Pss {own['Pss']} KiB; "
            f"the server it runs (sleep): VmRSS {child['VmRSS']} KiB"
        )
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
