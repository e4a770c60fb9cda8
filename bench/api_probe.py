"""Asks one API URL at a steady rate (keep-alive, a few threads) for some seconds and
prints requests, failures and latency percentiles as JSON: the console-like load of
bench/scale.sh, which wrk (as fast as it can) would turn into a contest for the cores.

usage: api_probe.py URL TOKEN RATE SECONDS
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

url, token, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
u = urllib.parse.urlsplit(url)
path = u.path + ("?" + u.query if u.query else "")
THREADS = 4
latencies, failures = [], [0]
lock = threading.Lock()


def worker(offset):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    interval = THREADS / rate
    start = time.monotonic() + offset * interval / THREADS
    n = 0
    while True:
        due = start + n * interval
        if due - start > seconds:
            break
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        t = time.monotonic()
        try:
            conn.request("GET", path, headers={"authorization": f"Bearer {token}"})
            r = conn.getresponse()
            r.read()
            ok = r.status == 200
        except OSError:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
            ok = False
        took = (time.monotonic() - t) * 1000
        with lock:
            latencies.append(took)
            if not ok:
                failures[0] += 1
        n += 1


threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
latencies.sort()
pct = lambda p: latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]
print(json.dumps({"requests": len(latencies), "failures": failures[0], "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": latencies[-1]}))
