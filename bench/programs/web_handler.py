# A web service's request loop: each request's JSON body is parsed into dicts, validated, turned into a response
# dict and rendered; a burst fills a response cache and an access log, then both are dropped (sessions survive).
# Allocation character: many short-lived dicts and strings per request, a few long-lived ones per user.
import gc
import json
import random

import _kit
import pyalloc_mark

ITEMS = ("book", "lamp", "chair", "desk", "mug", "pen", "phone", "cable", "bag", "shoe")


def request(rng, i):
    user = rng.randrange(5000)
    body = {"user": user, "cart": [{"sku": f"{rng.choice(ITEMS)}-{rng.randrange(999)}", "qty": rng.randrange(1, 5),
                                    "price": round(rng.uniform(1, 200), 2)} for _ in range(rng.randrange(1, 8))],
            "coupon": rng.choice(("", "SPRING", "VIP10")), "note": "x" * rng.randrange(0, 400)}
    headers = {"Host": "shop.example", "User-Agent": f"client/{i % 7}", "Accept": "application/json",
               "X-Request-Id": f"{i:08x}", "Cookie": f"session={user:06d}"}
    return {"method": "POST", "path": f"/api/cart/{user}", "headers": headers, "body": json.dumps(body)}


def handle(req, sessions):
    data = json.loads(req["body"])
    if not data["cart"]:
        return {"status": 400}
    total = sum(item["qty"] * item["price"] for item in data["cart"])
    if data["coupon"] == "VIP10":
        total *= 0.9
    s = sessions.setdefault(data["user"], {"visits": 0, "spent": 0.0, "last": None})
    s["visits"] += 1
    s["spent"] += total
    s["last"] = req["headers"]["X-Request-Id"]
    lines = [{"sku": it["sku"], "line": round(it["qty"] * it["price"], 2)} for it in data["cart"]]
    return {"status": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"user": data["user"], "lines": lines, "total": round(total, 2), "note": data["note"]})}


def main():
    n = int(40000 * _kit.scale())
    rng, sessions, cache, log = random.Random(1), {}, {}, []
    for i in range(n):
        req = request(rng, i)
        resp = handle(req, sessions)
        cache[req["headers"]["X-Request-Id"]] = resp   # the burst's response cache
        log.append((req["path"], resp["status"], len(resp["body"])))
    served = sum(size for _, _, size in log)
    cache.clear()
    log.clear()
    gc.collect()
    pyalloc_mark.mark("after_spike")
    _kit.report("web_handler", requests=n, bytes_served=served, sessions=len(sessions),
                spent=round(sum(s["spent"] for s in sessions.values()), 2))


if __name__ == "__main__":
    main()
