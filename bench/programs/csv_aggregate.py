# A reporting job: a day's sales as CSV text, read back with csv.DictReader into a list of row dicts (the spike),
# aggregated with collections (revenue per region and product, top customers); the rows go, the aggregates stay.
# Allocation character: millions of small strings and dicts alive at once, then freed together.
import csv
import gc
import io
import random
from collections import Counter, defaultdict

import _kit
import pyalloc_mark

REGIONS = ("north", "south", "east", "west", "central")
PRODUCTS = tuple(f"P{i:03d}" for i in range(300))


def sales_csv(rng, n):
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(("date", "region", "product", "customer", "qty", "price", "channel"))
    for i in range(n):
        w.writerow((f"2024-03-{1 + i % 28:02d}", rng.choice(REGIONS), rng.choice(PRODUCTS),
                    f"C{rng.randrange(20000):05d}", rng.randrange(1, 20), f"{rng.uniform(0.5, 99):.2f}",
                    rng.choice(("web", "store", "phone"))))
    return out.getvalue()


def main():
    n = int(250000 * _kit.scale())
    text = sales_csv(random.Random(2), n)
    rows = list(csv.DictReader(io.StringIO(text)))           # the spike: every row as a dict of strings
    del text
    revenue, units, customers = defaultdict(float), Counter(), Counter()
    for r in rows:
        amount = int(r["qty"]) * float(r["price"])
        revenue[(r["region"], r["product"])] += amount
        units[r["product"]] += int(r["qty"])
        customers[r["customer"]] += amount
    count = len(rows)
    del rows
    gc.collect()
    pyalloc_mark.mark("after_spike")
    top = customers.most_common(3)
    _kit.report("csv_aggregate", rows=count, groups=len(revenue), total=round(sum(revenue.values()), 2),
                best_product=units.most_common(1)[0][0], top_customer=top[0][0])


if __name__ == "__main__":
    main()
