"""redis-py's Lock acquire+release loop: prints the median microseconds per pair.

Usage: python redis_py_lock.py PORT ITERATIONS
"""
import statistics
import sys
import time

import redis

port, iterations = int(sys.argv[1]), int(sys.argv[2])
client = redis.Redis(host="127.0.0.1", port=port)
lock = client.lock("redis-py-bench", timeout=30)
for _ in range(500):  # warm-up: connection and script cache
    lock.acquire(blocking=False)
    lock.release()
samples = []
for _ in range(iterations):
    start = time.perf_counter()
    if not lock.acquire(blocking=False):
        raise SystemExit("lock unexpectedly held")
    lock.release()
    samples.append(time.perf_counter() - start)
print(statistics.median(samples) * 1e6)
