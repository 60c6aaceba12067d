#!/usr/bin/env python3
"""The measurement behind serve's storage choice (docs/serve.md): the cost of making
groups of batches durable with an append-only journal (append + fdatasync per group)
against an embedded transactional store (SQLite in WAL mode, synchronous=FULL, one
transaction per group, one upsert per distinct request of each batch).

    python3 benches/serve_store.py [DIR]     (DIR: on the disk to measure; default /tmp)

Each batch has 400 distinct requests (the worst case of a 400-event EventList), keys drawn
from 20,000, records of about 250 bytes as the journal writes them.
"""
import os
import random
import sqlite3
import sys
import tempfile
import time

BATCHES = 2000
GROUP = 8
PER_BATCH = 400
KEYS = 20000

def keys_of(rng):
    return [rng.randrange(KEYS) for _ in range(PER_BATCH)]

def record(k):
    return ('{"subject":"system:serviceaccount:ns-%d:sa","groups":["system:authenticated"],'
            '"verb":"get","apiGroup":"apps","resource":"deployments","namespace":"ns-%d",'
            '"name":"obj-%d","received":0,"started":0,"completed":1,"denied":0,'
            '"first":"2026-11-02T10:00:00Z","last":"2026-11-02T10:00:00Z"}\n' % (k % 97, k % 31, k))

def journal(dir_):
    rng = random.Random(1)
    path = os.path.join(dir_, "journal")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    start = time.perf_counter()
    written = 0
    for g in range(BATCHES // GROUP):
        buf = bytearray()
        for _ in range(GROUP):
            payload = "".join(record(k) for k in keys_of(rng)).encode()
            buf += len(payload).to_bytes(4, "little") + b"\0\0\0\0" + payload
        os.write(fd, buf)
        os.fdatasync(fd)
        written += len(buf)
    elapsed = time.perf_counter() - start
    os.close(fd)
    return elapsed, written

def sqlite(dir_):
    rng = random.Random(1)
    db = sqlite3.connect(os.path.join(dir_, "state.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE r (k TEXT PRIMARY KEY, completed INTEGER, first TEXT, last TEXT)")
    start = time.perf_counter()
    for g in range(BATCHES // GROUP):
        db.execute("BEGIN")
        for _ in range(GROUP):
            rows = [(record(k)[:120], "2026-11-02T10:00:00Z", "2026-11-02T10:00:00Z")
                    for k in keys_of(rng)]
            db.executemany(
                "INSERT INTO r VALUES (?, 1, ?, ?) ON CONFLICT(k) DO UPDATE SET "
                "completed = completed + 1, last = excluded.last", rows)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    size = sum(os.path.getsize(os.path.join(dir_, f)) for f in os.listdir(dir_)
               if f.startswith("state.db"))
    db.close()
    return elapsed, size

def main():
    base = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
    with tempfile.TemporaryDirectory(dir=base) as d:
        t, n = journal(d)
        print("journal: %d batches in groups of %d: %.2f s, %.0f batches/s, %.2f ms per group, %d MiB written"
              % (BATCHES, GROUP, t, BATCHES / t, t / (BATCHES / GROUP) * 1e3, n >> 20))
    with tempfile.TemporaryDirectory(dir=base) as d:
        t, n = sqlite(d)
        print("sqlite WAL synchronous=FULL: %d batches in groups of %d: %.2f s, %.0f batches/s, %.2f ms per group, %d MiB on disk"
              % (BATCHES, GROUP, t, BATCHES / t, t / (BATCHES / GROUP) * 1e3, n >> 20))

if __name__ == "__main__":
    main()
