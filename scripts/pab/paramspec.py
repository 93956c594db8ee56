# Workload parameters as the catalogue declares them (name, type, default, choices or bounds): KEY=VALUE values
# checked exactly as the binary checks them (bench/harness/params.c), with the same one-line messages; and the
# CSV's params cell, the one builder of it (the binary's pab_values_format writes the same text).
from .errors import UsageError
from .units import parse_size

NUMBER = ("int", "size")


def pairs(items):
    """['k=v', ...] -> {k: v}, in order; 'parameter X: expected KEY=VALUE' for an item without '='."""
    out = {}
    for item in items:
        k, eq, v = item.partition("=")
        if not eq:
            raise UsageError(f"parameter {item}: expected KEY=VALUE")
        out[k] = v
    return out


def check(workload, p, text):
    """The value of one parameter (an int for int/size, the text otherwise); UsageError when the binary would
    refuse it."""
    who = f"{workload}: {p['name']}={text}"
    if p["type"] == "enum":
        if text not in p["choices"]:
            raise UsageError(f"{who}: not one of {'|'.join(p['choices'])}")
        return text
    if p["type"] not in NUMBER:
        return text
    try:
        n = parse_size(text)
    except UsageError:
        raise UsageError(f"{who}: not a {'size' if p['type'] == 'size' else 'count'} "
                         "(digits with an optional K, M, G or T suffix, powers of 1024)") from None
    lo, hi = p.get("min", 0), p.get("max", 0)
    if n < lo or (hi and n > hi):
        raise UsageError(f"{who}: out of range [{lo}, {hi or 'no limit'}]")
    return n


def parse(entry, given):
    """(values, texts) over every parameter of a catalogue entry {"name", "params"}, defaults filled in; given
    ({name: text}) overrides.  UsageError for an unknown name or a value out of its type, choices or bounds."""
    params = {p["name"]: p for p in entry["params"]}
    for k in given:
        if k not in params:
            raise UsageError(f"{entry['name']} has no parameter {k}")
    texts = {k: str(given.get(k, p["default"])) for k, p in params.items()}
    return {k: check(entry["name"], params[k], t) for k, t in texts.items()}, texts


def cell(declared, given):
    """The CSV's params cell: 'key=value;...' over every declared parameter (defaults filled in), sorted by key; a
    common one (the catalogue marks it) only when it is not at its default, as the binary writes it.
    declared: [{"name", "default", "common"?}, ...] (the catalogue's); given: the values a case sets."""
    values = {p["name"]: p["default"] for p in declared}
    values.update(given)
    common = {p["name"]: p["default"] for p in declared if p.get("common")}
    return ";".join(f"{k}={values[k]}" for k in sorted(values) if not (k in common and values[k] == common[k]))
