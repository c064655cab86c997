#!/usr/bin/env python3
"""Latency of a running production interface, measured from outside with an independent client.

Signs every request with the spec's scheme-A recipe (saas-v2 §2.2) using only Python's standard
library, so the numbers include signing-independent server work only. Sequential requests over
one keep-alive connection: this measures latency, not throughput (`koogate bench` does that).

    python3 scripts/latency.py --url http://127.0.0.1:8080/produce --key "$KOOGATE_ACCESS_KEY" [-n 300]

Workloads: newInstance for each MOCK order not seen before (first creates), newInstance repeated
(idempotent replay), queryInstance of 1 id.
"""
import argparse, hashlib, hmac, http.client, json, secrets, statistics, time, urllib.parse

MOCK = ["MOCKPERIODYEARNEW", "MOCKONETIMENEW", "MOCKONDEMAND", "MOCKONDEMANDPKG", "MOCKPERIODDAYTRIAL",
        "MOCKMONTYTRIALTOFORMAL", "MOCKMONTYUNSUBSCRIBE", "MOCKMONTYRENEW", "MOCKMONTYCHANGE"]


def sign(key: str, ts: str, nonce: str, body: bytes) -> str:
    inner = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return hmac.new(key.encode(), (key + nonce + ts + inner).encode(), hashlib.sha256).hexdigest().upper()


def call(conn, path: str, key: str, doc: dict):
    body = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    ts, nonce = str(int(time.time() * 1000)), secrets.token_hex(16)
    query = urllib.parse.urlencode({"signature": sign(key, ts, nonce, body), "timestamp": ts, "nonce": nonce})
    started = time.perf_counter()
    conn.request("POST", f"{path}?{query}", body, {"Content-Type": "application/json;charset=utf8"})
    response = conn.getresponse()
    answer = json.loads(response.read())
    return (time.perf_counter() - started) * 1000, answer


def report(name: str, samples: list):
    samples = sorted(samples)
    pct = lambda p: samples[min(len(samples) - 1, int(p * len(samples)))]
    print(f"{name:28} n={len(samples):4}  p50={pct(0.5):7.2f} ms  p99={pct(0.99):7.2f} ms  max={samples[-1]:7.2f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    url = urllib.parse.urlparse(args.url)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80)
    first, ids = [], []
    for order in MOCK:
        ms, answer = call(conn, url.path, args.key, {"activity": "newInstance", "businessId": secrets.token_hex(8),
                                                     "orderId": order, "orderLineId": order + "-000001", "testFlag": "1"})
        assert answer["resultCode"] in ("000000", "000004"), answer
        first.append(ms)
        ids.append(answer["instanceId"])
    repeat, query = [], []
    for i in range(args.n):
        order = MOCK[i % len(MOCK)]
        ms, answer = call(conn, url.path, args.key, {"activity": "newInstance", "businessId": secrets.token_hex(8),
                                                     "orderId": order, "orderLineId": order + "-000001", "testFlag": "1"})
        assert answer["resultCode"] in ("000000", "000004"), answer
        repeat.append(ms)
        ms, answer = call(conn, url.path, args.key, {"activity": "queryInstance", "instanceId": ids[i % len(ids)]})
        assert answer["resultCode"] == "000000", answer
        query.append(ms)
    report("newInstance (first create)", first)
    report("newInstance (repeat)", repeat)
    report("queryInstance (1 id)", query)


if __name__ == "__main__":
    main()
