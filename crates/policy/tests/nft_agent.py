# Test agent for tests/nftables.rs, run inside a network namespace
# (`ip netns exec NS python3 -u -c "$(cat nft_agent.py)"`). It reads one JSON request a
# line on stdin and answers each with one JSON line on stdout:
#
#   {"listen": [["tcp"|"udp", ADDR, PORT], ...]}
#       binds (once) a TCP server that accepts and closes, or a UDP server that echoes,
#       on each; answers {"ok": true} once all are bound.
#   {"flows": [["tcp"|"udp", SRC, DST, PORT], ...], "timeout": SECONDS}
#       tries each flow at the same time from SRC (TCP: connect; UDP: send a datagram
#       and wait for its echo); answers {"results": [...]} in the flows' order, each
#       "pass" (connected / echoed), "drop" (no answer before the timeout), "refused"
#       (a RST or ICMP port unreachable came back) or "error: ..." (anything else).
#
# It stops at the end of its input.
import json
import socket
import sys
import threading

bound = {}


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve_tcp(s):
    while True:
        try:
            c, _ = s.accept()
            c.close()
        except OSError:
            return


def serve_udp(s):
    while True:
        try:
            data, peer = s.recvfrom(2048)
            s.sendto(data, peer)
        except OSError:
            return


def listen(proto, addr, port):
    key = (proto, addr, port)
    if key in bound:
        return
    if proto == "tcp":
        s = socket.socket(family(addr), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(64)
        target = serve_tcp
    else:
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.bind((addr, port))
        target = serve_udp
    bound[key] = s
    threading.Thread(target=target, args=(s,), daemon=True).start()


def flow(proto, src, dst, port, timeout):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family(dst), kind)
    try:
        s.bind((src, 0))
        s.settimeout(timeout)
        if proto == "tcp":
            s.connect((dst, port))
        else:
            s.connect((dst, port))
            s.send(b"pumpguard")
            s.recv(2048)
        return "pass"
    except socket.timeout:
        return "drop"
    except ConnectionRefusedError:
        return "refused"
    except OSError as e:
        return "error: %s" % e
    finally:
        s.close()


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        try:
            if "listen" in req:
                for proto, addr, port in req["listen"]:
                    listen(proto, addr, port)
                answer = {"ok": True}
            else:
                flows = req["flows"]
                timeout = req.get("timeout", 2.0)
                results = [None] * len(flows)

                def run(i, f):
                    results[i] = flow(f[0], f[1], f[2], f[3], timeout)

                threads = [
                    threading.Thread(target=run, args=(i, f)) for i, f in enumerate(flows)
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                answer = {"results": results}
        except Exception as e:  # answer, do not die: the test reports it
            answer = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


main()
