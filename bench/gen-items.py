#!/usr/bin/env python3
"""Writes a deployment of N checklist items over M files, for the large-run benchmarks (#17).

    bench/gen-items.py N M OUT [--fail-every K]

OUT gets:
  files/f0000.json, .yaml, .toml, .env  (round-robin), each with the keys its items query;
  pack-K.yaml  packs of 10,000 items each, N in all: config items with jq queries (equals, one_of, gte,
               matches), file-mode items (mode_max), env items (a variable in an .env file);
  shipcheck.yaml  the profile that runs it (`shipcheck check --profile OUT/shipcheck.yaml`);
  per-item.sh  the same checks done one process per item (jq, yq-free python for YAML/TOML
               is avoided: the script uses `jq` on JSON files, `stat` for modes and `grep`
               for .env and TOML/YAML keys), for the "one process per item" comparison;
  test_items.py  the same file checks as pytest-testinfra tests (local backend).

Every K-th item (default 0: none) is made to fail, so the report has findings to render.
The output is deterministic for the same arguments.
"""
import os
import sys

FORMATS = ["json", "yaml", "toml", "env"]


def main():
    args = sys.argv[1:]
    fail_every = 0
    if "--fail-every" in args:
        i = args.index("--fail-every")
        if i + 1 >= len(args) or not args[i + 1].isdigit():
            sys.exit("--fail-every needs a whole number")
        fail_every = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 3 or not (args[0].isdigit() and args[1].isdigit()):
        sys.exit(__doc__)
    n, m, out = int(args[0]), int(args[1]), args[2]
    if n < 1 or m < 1:
        sys.exit("N and M must be at least 1")
    files_dir = os.path.join(out, "files")
    os.makedirs(files_dir, exist_ok=True)

    # Items are dealt to files round-robin; item i lives in file i % m as key k{i}.
    per_file = [[] for _ in range(m)]
    for i in range(n):
        per_file[i % m].append(i)

    items, shell, pytest = [], [], []
    for f, idxs in enumerate(per_file):
        fmt = FORMATS[f % len(FORMATS)]
        name = f"f{f:05d}.{fmt}"
        path = os.path.join(files_dir, name)
        values = {i: f"value-{i}" for i in idxs}
        write_file(path, fmt, values, f)
        os.chmod(path, 0o600 if f % 2 == 0 else 0o640)
        for i in idxs:
            fail = fail_every and i % fail_every == fail_every - 1
            kind = i % 5
            item_id = f"gen.i{i:06d}"
            if kind == 4:
                # A file-mode item over this item's file.
                limit = "0600" if f % 2 == 0 else "0640"
                if fail:
                    limit = "0400"
                items.append(
                    f"      - id: {item_id}\n        title: File {name} mode at most {limit}\n"
                    f"        severity: medium\n        phase: pre-deploy\n        why: Generated.\n        fix: chmod {limit} files/{name}.\n        check:\n"
                    f"          file: {{path: \"files/{name}\", type: file, mode_max: \"{limit}\"}}\n"
                )
                shell.append(f'[ $(( 0$(stat -c %a "files/{name}") & ~0{limit} )) -eq 0 ] && pass || fail {item_id}')
                pytest.append((item_id, "mode", name, int(limit, 8)))
                continue
            want = f"value-{i}" if not fail else f"other-{i}"
            if fmt == "env":
                check = f'          env: {{name: K{i}, file: "files/{name}"}}\n'
                shell.append(f'[ "$(grep -m1 "^K{i}=" "files/{name}" | cut -d= -f2-)" = "{want}" ] && pass || fail {item_id}')
            else:
                query = f".section{i % 7}.k{i}" if fmt != "toml" else f".section{i % 7}.k{i}"
                check = f'          config: {{path: "files/{name}", format: {fmt}, query: "{query}"}}\n'
                if fmt == "json":
                    shell.append(f'[ "$(jq -r \'{query}\' "files/{name}")" = "{want}" ] && pass || fail {item_id}')
                else:
                    shell.append(f'grep -q "k{i}.*{want}" "files/{name}" && pass || fail {item_id}')
            matcher = [
                f'equals: "{want}"',
                f'one_of: ["{want}", "spare"]',
                f'matches: "^{want}$"',
                f'not_equals: "x{want}"',
            ][kind]
            items.append(
                f"      - id: {item_id}\n        title: Key k{i} in {name}\n"
                f"        severity: {['low', 'medium', 'high', 'critical'][i % 4]}\n"
                f"        phase: pre-deploy\n        why: Generated.\n        fix: Set k{i}.\n        check:\n{check}          expect: [{{{matcher}}}]\n"
            )
            pytest.append((item_id, "contains", name, f"value-{i}" if not fail else f"other-{i}"))

    # One pack per 10,000 items (a pack file is read up to 16 MiB), all in the profile.
    per_pack, per_section, packs = 10_000, 1000, []
    for p in range(0, len(items), per_pack):
        name = f"pack-{p // per_pack}.yaml"
        packs.append(f"./{name}")
        with open(os.path.join(out, name), "w") as fh:
            fh.write(f"name: generated-{p // per_pack}\nversion: 1.0.0\n")
            fh.write(f"title: Items {p} to {min(p + per_pack, n) - 1} of {n} over {m} files\n")
            fh.write("sections:\n")
            for s in range(p, min(p + per_pack, len(items)), per_section):
                fh.write(f"  - id: s{s // per_section}\n    title: Items {s}..\n    items:\n")
                fh.writelines(items[s : min(s + per_section, p + per_pack)])
    with open(os.path.join(out, "shipcheck.yaml"), "w") as fh:
        fh.write(f"packs: [{', '.join(packs)}]\nenvironment: bench\n")
    with open(os.path.join(out, "per-item.sh"), "w") as fh:
        fh.write("#!/usr/bin/env bash\n# One process per item, the checklist documents' way.\n")
        fh.write('cd "$(dirname "$0")"\nP=0; F=0\npass() { P=$((P+1)); }\nfail() { F=$((F+1)); }\n')
        fh.write("\n".join(shell))
        fh.write('\necho "passed $P failed $F"\n')
    os.chmod(os.path.join(out, "per-item.sh"), 0o755)
    with open(os.path.join(out, "test_items.py"), "w") as fh:
        fh.write("# pytest-testinfra, local backend: the same file checks.\nimport os\nimport pytest\n")
        fh.write("HERE = os.path.dirname(os.path.abspath(__file__))\n")
        fh.write("CASES = [\n")
        for item_id, what, name, arg in pytest:
            fh.write(f"    ({item_id!r}, {what!r}, {name!r}, {arg!r}),\n")
        fh.write("]\n\n")
        fh.write(
            "@pytest.mark.parametrize('item,what,name,arg', CASES)\n"
            "def test_item(host, item, what, name, arg):\n"
            "    f = host.file(os.path.join(HERE, 'files', name))\n"
            "    if what == 'mode':\n"
            "        assert f.is_file and (f.mode & ~arg) == 0\n"
            "    else:\n"
            "        assert f.contains(arg)\n"
        )


def write_file(path, fmt, values, f):
    sections = {}
    for i, v in values.items():
        sections.setdefault(i % 7, []).append((i, v))
    with open(path, "w") as fh:
        if fmt == "json":
            parts = []
            for s, kvs in sorted(sections.items()):
                inner = ", ".join(f'"k{i}": "{v}"' for i, v in kvs)
                parts.append(f'  "section{s}": {{{inner}}}')
            parts.append(f'  "file": {f}')
            fh.write("{\n" + ",\n".join(parts) + "\n}\n")
        elif fmt == "yaml":
            fh.write(f"# generated file {f}\nfile: {f}\n")
            for s, kvs in sorted(sections.items()):
                fh.write(f"section{s}:\n")
                for i, v in kvs:
                    fh.write(f"  k{i}: {v}\n")
        elif fmt == "toml":
            fh.write(f"# generated file {f}\nfile = {f}\n")
            for s, kvs in sorted(sections.items()):
                fh.write(f"\n[section{s}]\n")
                for i, v in kvs:
                    fh.write(f'k{i} = "{v}"\n')
        else:
            fh.write(f"# generated file {f}\nFILE={f}\n")
            for i, v in values.items():
                fh.write(f"K{i}={v}\n")


if __name__ == "__main__":
    main()
