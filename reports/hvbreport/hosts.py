"""The Hosts dimension of a report: which machine each run is from.

A folder of a fleet's runs (`hvbench merge`) puts runs of several hosts in
one report.  Nothing is pooled across them: a series is one runner of one
run (model.build_series) and its slowdown is against a native of the same
machine (model.Baselines), so what this adds is the grouping a reader needs
to see that: a Hosts section (per host its name, host_identity, host_kind
and runs), the host under every runner's column header, and a banner that
says the runs come from several hosts and are not pooled.

A host is its host_name together with its host_identity (where the run
records it): two machines with one name (a fleet of clones) are two hosts,
and so are two systems with one identity but their own names (containers
or namespaces of one machine, say; the banner then says they are one
machine by host_identity, so they shared its CPUs).
"""

from . import context as ctx
from .markup import data_attrs, esc, md_table


class Host:
    def __init__(self, key, name, identity, kind, evidence):
        self.key, self.name, self.identity = key, name, identity
        self.kind, self.evidence = kind, evidence
        self.runs = []  # run indices, in report order


class Hosts:
    def __init__(self, hosts, warnings):
        self.hosts, self.warnings = hosts, warnings

    def __bool__(self):
        return len(self.hosts) > 1

    def of_run(self, i):
        return next(h for h in self.hosts if i in h.runs)


def host_key(run):
    return (run.meta.get("host_name", "?"), run.meta.get("host_identity", ""))


def _group(runs):
    hosts = {}
    for i, r in enumerate(runs):
        key = host_key(r)
        if key not in hosts:
            kind, evidence = ctx.host_kind(r)
            hosts[key] = Host(key, r.meta.get("host_name", "?"), r.meta.get("host_identity", ""),
                              kind, evidence)
        hosts[key].runs.append(i)
    return list(hosts.values())


def _names(hosts):
    """Each host's name for headers; where two hosts share one, with their identity."""
    count = {}
    for h in hosts:
        count[h.name] = count.get(h.name, 0) + 1
    return {h.key: h.name if count[h.name] == 1
            else f"{h.name} [{h.identity[:8] or 'no identity'}]" for h in hosts}


def _shared_machines(hosts):
    """'; fleet-a and fleet-b are one machine by host_identity ...' for hosts
    that differ by name only: what ran on them competed for one machine."""
    by_id = {}
    for h in hosts:
        if h.identity:
            by_id.setdefault(h.identity, []).append(h.tag)
    return "".join(f". {' and '.join(tags)} are one machine by host_identity ({identity}): "
                   f"containers, namespaces or boots of one host, which shared its CPUs and "
                   f"memory when they ran at once" for identity, tags in by_id.items()
                   if len(tags) > 1)


def build(rep):
    """Group the runs by host; tag every series with its host when there are several."""
    hosts = _group(rep.runs)
    warnings = []
    if len(hosts) > 1:
        names = _names(hosts)
        for h in hosts:
            h.tag = names[h.key]
        for s in rep.series:
            s.host = next(h for h in hosts if s.run_index in h.runs).tag
        listed = "; ".join(f"{h.tag} ({h.kind}, host_identity {h.identity or 'not recorded'}): "
                           + ", ".join(f"run {i + 1}" for i in h.runs) for h in hosts)
        warnings.append(("hosts", f"Runs from {len(hosts)} hosts",
                         f"{listed}. Runs of different hosts are never pooled: every runner "
                         f"column is one run on one host (its header names the host), its "
                         f"slowdown is against the native of its own run, and a runner "
                         f"measured on several hosts has a column per host; see Hosts"
                         + _shared_machines(hosts)))
    return Hosts(hosts, warnings)


def nav_items(rep):
    return [("hosts", "Hosts")] if rep.hosts else []


def _runners(rep, h):
    return ", ".join(s.label for s in rep.series if s.run_index in h.runs) or "—"


def html(rep):
    if not rep.hosts:
        return ""
    rows = []
    for h in rep.hosts.hosts:
        runs = "<br>".join(f"run {i + 1} = <span class=mono>{esc(rep.runs[i].run_id)}</span>"
                           for i in h.runs)
        rows.append(f"<tr{data_attrs(host=h.tag, identity=h.identity, kind=h.kind)}>"
                    f"<td class=mono>{esc(h.tag)}</td><td class=mono>"
                    f"{esc(h.identity) or '<span class=mut>(not recorded)</span>'}</td>"
                    f"<td>{esc(h.kind)}<br><span class=dir>{esc(h.evidence)}</span></td>"
                    f"<td>{runs}</td><td>{esc(_runners(rep, h))}</td></tr>")
    return (f'<h2 id="hosts">Hosts</h2><p class="mut">The runs come from {len(rep.hosts.hosts)} '
            f'hosts (by host_name and host_identity). Each host\'s runners are compared with '
            f'its own native only; to compare hosts, compare their runs with hvbench compare '
            f'(one host per side).</p><table id="hosts-table"><thead><tr><th>host</th>'
            f'<th>host_identity</th><th>host_kind</th><th>runs</th><th>runners</th></tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>')


def markdown(rep):
    if not rep.hosts:
        return []
    rows = [[h.tag, h.identity or "(not recorded)", h.kind,
             ", ".join(f"run {i + 1} ({rep.runs[i].run_id})" for i in h.runs), _runners(rep, h)]
            for h in rep.hosts.hosts]
    return ["", "## Hosts", "", "Runs of different hosts are never pooled: each runner column is "
            "one run on one host, against that run's native.", "",
            md_table(["host", "host_identity", "host_kind", "runs", "runners"], rows)]


def label_md(s):
    """A series' label for a Markdown column, with its host when there are several."""
    host = getattr(s, "host", None)
    return f"{s.label} @ {host}" if host else s.label
