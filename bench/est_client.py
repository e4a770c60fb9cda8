"""Enrolls every CSR (base64 DER files) over EST: THREADS keep-alive HTTPS connections
to BASE/.well-known/est/simpleenroll with Basic credentials; prints certificates/s.
Every answer must be 200 with a certs-only PKCS#7 body."""
import base64, http.client, ssl, sys, threading, time, urllib.parse

base, chain, user, password, threads = sys.argv[1:6]
files = sys.argv[6:]
url = urllib.parse.urlparse(base)
auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
bodies = [open(f, "rb").read() for f in files]
ctx = ssl.create_default_context(cafile=chain)
failures = []


def worker(part):
    conn = http.client.HTTPSConnection(url.hostname, url.port, context=ctx)
    for body in part:
        conn.request("POST", "/.well-known/est/simpleenroll", body=body,
                     headers={"Authorization": auth, "Content-Type": "application/pkcs10"})
        r = conn.getresponse()
        data = r.read()
        if r.status != 200 or not r.getheader("Content-Type", "").startswith("application/pkcs7-mime"):
            failures.append((r.status, data[:200]))
    conn.close()


n = int(threads)
parts = [bodies[i::n] for i in range(n)]
start = time.perf_counter()
ts = [threading.Thread(target=worker, args=(p,)) for p in parts]
for t in ts:
    t.start()
for t in ts:
    t.join()
secs = time.perf_counter() - start
if failures:
    sys.exit(f"{len(failures)} enrollments failed, first: {failures[0]}")
print(f"{len(bodies) / secs:.0f}")
