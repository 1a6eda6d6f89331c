#!/usr/bin/python3
"""Parse a Prometheus text exposition (stdin) with python3-prometheus-client's
parser, the one scrapers trust, and print it in a form tests can grep:

    TYPE <family> <type>
    <sample name> <label>=<value>,... <value>     (labels sorted by name; - for none)

A counter family is printed with its _total (the parser strips it); label
values are printed with Python's unicode_escape (a newline as \\n).  Exits
1 with the parser's words when the text does not parse."""
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    out = []
    try:
        for fam in text_string_to_metric_families(text):
            name = fam.name + ("_total" if fam.type == "counter" else "")
            out.append("TYPE %s %s" % (name, fam.type))
            for s in fam.samples:
                labels = ",".join("%s=%s" % (k, v.encode("unicode_escape").decode())
                                  for k, v in sorted(s.labels.items()))
                out.append("%s %s %r" % (s.name, labels or "-", s.value))
    except Exception as e:  # the parser raises ValueError and friends
        print("does not parse: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
