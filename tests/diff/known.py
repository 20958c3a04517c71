"""The list of accepted differences (tests/diff/known-differences.txt).

One line per accepted difference:   CONFIG-GLOB | REQUEST-GLOB | ASPECT-GLOB | reason
(fnmatch patterns on the config file name, the request label and the aspect; `#` starts a comment line).
A line without a reason is an error: every accepted difference says why.
"""

import fnmatch


class Known:
    def __init__(self, entries):
        self.entries = entries  # (config, request, aspect, reason, line number)
        self.used = set()

    @classmethod
    def load(cls, path):
        entries = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = [p.strip() for p in line.split("|", 3)]
                if len(parts) != 4 or not parts[3]:
                    raise ValueError("%s:%d: want 'CONFIG | REQUEST | ASPECT | reason'" % (path, n))
                entries.append((parts[0], parts[1], parts[2], parts[3], n))
        return cls(entries)

    def reason(self, config, label, aspect):
        for cfg, req, asp, why, n in self.entries:
            if fnmatch.fnmatchcase(config, cfg) and fnmatch.fnmatchcase(label, req) and \
                    fnmatch.fnmatchcase(aspect, asp):
                self.used.add(n)
                return why
        return None
