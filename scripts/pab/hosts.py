# Which rows compare sets against which when runs hold several hosts (docs/design.md §14): host A's rows against
# host B's (`--hosts A,B`: "does host B change the answer?"), or each host against itself in two runs.
import sys

from .errors import UsageError
from .units import split_list


def pairs(ra, rb, hosts):
    """[(host or None, A side, B side)]: the runs to compare.  ra: a runs.Run; rb: a runs.Run or None (then
    --hosts takes both sides from ra); hosts: --hosts's text or None."""
    if hosts is not None:
        names = split_list(hosts, "--hosts")
        if len(names) != 2:
            raise UsageError(f"--hosts {hosts!r}: give two hosts, A,B (the A side's and the B side's)")
        return [(None, ra.on_host(names[0]), (rb or ra).on_host(names[1]))]
    if rb is None:
        raise UsageError("compare needs two runs (A B), or one run of several hosts and --hosts A,B")
    if len(ra.hosts) <= 1 and len(rb.hosts) <= 1:
        return [(None, ra, rb)]  # one host each: the runs themselves, even if the hosts differ
    both = [h for h in ra.hosts if h in rb.hosts]
    if not both:
        raise UsageError(f"A holds hosts {', '.join(ra.hosts)} and B {', '.join(rb.hosts)}, none in both: "
                         "say which to set against which with --hosts HOST_OF_A,HOST_OF_B")
    for side, run, other in (("A", ra, rb), ("B", rb, ra)):
        for h in run.hosts:
            if h not in other.hosts:
                print(f"pyalloc: note: host {h} is only in {side}: left out", file=sys.stderr)
    return [(h, ra.on_host(h), rb.on_host(h)) for h in both]

