#!/usr/bin/env python3
"""tests/promcheck.py -- a strict checker of the Prometheus text exposition
format (0.0.4) as dmutexd writes it (METRICS, net/README.md).

  python3 tests/promcheck.py FILE       exit 0 if it conforms, 1 with the reasons
  python3 tests/promcheck.py --selftest the checker refuses known-bad inputs

Checked: every line is a HELP/TYPE comment or a sample that parses; a
family's TYPE comes before its samples and only once; counters end in
_total; histograms have cumulative _bucket lines ending with le="+Inf", equal
to _count, and a _sum; values are numbers.
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s)(?:,(?:%s))*\})? (\S+)$" % (NAME, LABEL, LABEL))
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def family_of(name, types):
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
            return name[: -len(suffix)]
    return None


def check(text):
    errs = []
    types, helps, samples = {}, set(), {}
    if not text.endswith("\n"):
        errs.append("the text does not end with a newline")
    for no, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (%s) (.+)$" % NAME, line)
            if not m:
                errs.append("line %d: a comment that is neither HELP nor TYPE: %r" % (no, line))
                continue
            kind, name, rest = m.groups()
            if kind == "TYPE":
                if rest not in TYPES:
                    errs.append("line %d: unknown type %r" % (no, rest))
                if name in types:
                    errs.append("line %d: second TYPE for %s" % (no, name))
                if name in samples:
                    errs.append("line %d: TYPE of %s after its samples" % (no, name))
                types[name] = rest
                if rest == "counter" and not name.endswith("_total"):
                    errs.append("line %d: counter %s does not end in _total" % (no, name))
            else:
                helps.add(name)
            continue
        m = SAMPLE.match(line)
        if not m:
            errs.append("line %d: not a sample: %r" % (no, line))
            continue
        name, labels, value = m.groups()
        try:
            v = float(value)
        except ValueError:
            errs.append("line %d: value %r is not a number" % (no, value))
            continue
        fam = family_of(name, types)
        if fam is None:
            errs.append("line %d: sample %s before (or without) its TYPE" % (no, name))
            continue
        samples.setdefault(fam, []).append((name, labels or "", v))
    for fam, t in types.items():
        if fam not in helps:
            errs.append("%s has no HELP" % fam)
        if fam not in samples:
            errs.append("%s has a TYPE but no sample" % fam)
            continue
        if t != "histogram":
            continue
        buckets = [(l, v) for n, l, v in samples[fam] if n == fam + "_bucket"]
        count = [v for n, l, v in samples[fam] if n == fam + "_count"]
        if not buckets or not buckets[-1][0] == '{le="+Inf"}':
            errs.append("%s: the buckets do not end with le=\"+Inf\"" % fam)
        les = []
        for l, v in buckets:
            m = re.match(r'^\{le="([^"]+)"\}$', l)
            les.append(float(m.group(1)) if m else None)
        if None in les or les != sorted(les):
            errs.append("%s: bucket bounds missing or not increasing: %s" % (fam, les))
        vals = [v for l, v in buckets]
        if vals != sorted(vals):
            errs.append("%s: buckets not cumulative: %s" % (fam, vals))
        if len(count) != 1 or not buckets or count[0] != vals[-1]:
            errs.append("%s: _count %s differs from the +Inf bucket" % (fam, count))
        if not any(n == fam + "_sum" for n, l, v in samples[fam]):
            errs.append("%s: no _sum" % fam)
    return errs, types, samples


GOOD = """# HELP a_total A.
# TYPE a_total counter
a_total 3
# HELP h H.
# TYPE h histogram
h_bucket{le="0.1"} 1
h_bucket{le="1"} 2
h_bucket{le="+Inf"} 2
h_sum 0.5
h_count 2
"""

BAD = {
    "sample before TYPE": "a_total 1\n# HELP a_total A.\n# TYPE a_total counter\n",
    "counter without _total": "# HELP a A.\n# TYPE a counter\na 1\n",
    "not cumulative": GOOD.replace('h_bucket{le="1"} 2', 'h_bucket{le="1"} 0'),
    "no +Inf": GOOD.replace('h_bucket{le="+Inf"} 2\n', ""),
    "bad value": GOOD.replace("a_total 3", "a_total three"),
    "bad label": GOOD.replace('{le="0.1"}', '{le=0.1}'),
    "count differs": GOOD.replace("h_count 2", "h_count 3"),
}


def selftest():
    errs, _, _ = check(GOOD)
    if errs:
        print("FAIL: the good example is refused: %s" % errs)
        return 1
    for what, text in BAD.items():
        errs, _, _ = check(text)
        if not errs:
            print("FAIL: %s is accepted" % what)
            return 1
        print("ok: refused (%s): %s" % (what, errs[0]))
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        sys.exit(selftest())
    with open(sys.argv[1]) as f:
        errs, _, _ = check(f.read())
    for e in errs:
        print("FAIL: " + e)
    sys.exit(1 if errs else 0)
