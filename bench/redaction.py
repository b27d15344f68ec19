"""Cost of redacting a server's secrets from the text it sends back (stderr lines, results).

    .venv/bin/python -m bench.redaction [--lines 20000] [--secrets 10] [--runs 5]

A Redactor is built from ``--secrets`` env values (each becomes about seven matched forms: the
value, URL-encoded, base64, JSON-escaped). It then redacts ``--lines`` stderr-like lines of about
120 characters, without a secret (the common case) and with one in every line, and a 64 KiB
tool result as JSON text (how the log writer redacts it), clean and with a secret. Figures are µs per line / per result, median of
``--runs`` runs.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import time

from mcp_orch_app.security.redaction import Redactor


def _median_us(fn, items, runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        for item in items:
            fn(item)
        timings.append((time.perf_counter() - started) / len(items) * 1e6)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--secrets", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()

    values = [f"sk-{secrets.token_urlsafe(24)}" for _ in range(options.secrets)]
    started = time.perf_counter()
    redactor = Redactor(values)
    built_us = (time.perf_counter() - started) * 1e6
    filler = "2026-12-03T06:30:00Z INFO server: handled request id=4711 in 12 ms from client "
    clean = [f"{filler}{n:08d} path=/v1/items?page={n % 50}" for n in range(options.lines)]
    dirty = [f"{filler}{n:08d} token={values[n % len(values)]}" for n in range(options.lines)]
    result = {
        "content": [{"type": "text", "text": (filler * 8 + "\n") * 64}],
        "structuredContent": {"rows": [{"id": n, "name": filler} for n in range(200)]},
    }
    leaky = {**result, "token": values[0]}
    leaky_text = json.dumps(leaky)

    print(f"redactor of {options.secrets} secrets ({redactor!r}) built in {built_us:.0f} µs")
    print(f"clean line      : {_median_us(redactor.redact, clean, options.runs):7.2f} µs/line")
    print(f"line with secret: {_median_us(redactor.redact, dirty, options.runs):7.2f} µs/line")
    clean_text = json.dumps(result)
    size = len(clean_text) // 1024
    for label, text in (("clean", clean_text), ("one secret", leaky_text)):
        cost = _median_us(redactor.redact_json_text, [text] * 50, options.runs)
        print(f"{size} KiB result as JSON text, {label:10}: {cost:9.1f} µs")


if __name__ == "__main__":
    main()
