"""mkdocs hook: pages take their reference tables from the project itself, so they cannot drift.

A page asks for a generated section with an HTML comment on a line of its own:

- ``<!-- parameters: training -->``: ``conf/base/parameters_training.yml``: a table of its
  settings (the comment lines above each key are its description) and the whole file;
- ``<!-- nodes: training -->``: the registered pipeline's nodes with their inputs and outputs;
- ``<!-- raw-schema -->``: the raw export's columns, from the data_processing parameters.

The build fails (``--strict`` or not) when a comment names an unknown file or pipeline, and when
a parameters file or a registered pipeline is documented on no page.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import yaml
from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf" / "base"
MARKER = re.compile(r"^<!-- (parameters|nodes): ([a-z_]+) -->$|^<!-- (raw-schema) -->$", re.M)

_documented: dict[str, set[str]] = {"parameters": set(), "nodes": set()}


def on_pre_build(config: Any) -> None:
    for kind in _documented.values():
        kind.clear()


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def render(match: re.Match[str]) -> str:
        kind, name = match.group(1) or match.group(3), match.group(2)
        if kind == "raw-schema":
            return raw_schema()
        _documented[kind].add(name)
        return parameters(name) if kind == "parameters" else nodes(name)

    return MARKER.sub(render, markdown)


def on_post_build(config: Any) -> None:
    files = {p.stem.removeprefix("parameters_") for p in CONF.glob("parameters_*.yml")}
    missing = {
        "parameters": files - _documented["parameters"],
        "nodes": set(_pipelines()) - {"__default__"} - _documented["nodes"],
    }
    for kind, names in missing.items():
        if names:
            raise PluginError(f"no page documents the {kind} of: {', '.join(sorted(names))}")


def _cell(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    text = text.removesuffix("...").strip()
    if len(text) > 80:
        text = text[:77] + "..."
    return "`" + text.replace("|", "\\|") + "`"


_KEY_LINE = re.compile(r"^( *)([^\s#:][^:#]*?|\"[^\"]+\"):(\s|$)")


def _comments_by_path(lines: list[str]) -> dict[tuple[str, ...], str]:
    """Each mapping key's path and its comment: the ``#`` lines right above it and any
    trailing ``# ...`` on its own line."""
    found: dict[tuple[str, ...], str] = {}
    stack: list[tuple[int, str]] = []
    above: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("#").strip())
            continue
        match = _KEY_LINE.match(line)
        if match is None or stripped.startswith("- "):
            above = []
            continue
        indent, key = len(match.group(1)), match.group(2).strip('"')
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        trailing = line.split(" # ", 1)[1].strip() if " # " in line else ""
        found[tuple(k for _, k in stack)] = " ".join([*above, trailing]).strip()
        above = []
    return found


def _rows(value: Any, path: tuple[str, ...], comments: dict) -> list[str]:
    """Table rows: a pipeline's block and small mappings in it are expanded (up to three
    levels), everything else is shown as one value."""
    expand = (
        isinstance(value, dict)
        and bool(value)
        and (len(path) == 1 or (len(path) < 3 and len(value) <= 15))
    )
    if not expand:
        about = comments.get(path, "").replace("|", "\\|")
        return [f"| `{'.'.join(path)}` | {_cell(value)} | {about} |"]
    rows = []
    if comments.get(path) and len(path) > 1:
        about = comments[path].replace("|", "\\|")
        rows.append(f"| `{'.'.join(path)}` | | {about} |")
    for key, item in value.items():
        rows.extend(_rows(item, (*path, str(key)), comments))
    return rows


def parameters(name: str) -> str:
    path = CONF / f"parameters_{name}.yml"
    if not path.exists():
        raise PluginError(f"<!-- parameters: {name} -->: {path.relative_to(ROOT)} does not exist")
    text = path.read_text()
    lines = text.splitlines()
    comments = _comments_by_path(lines)
    rows = ["| Parameter | Default | What it does |", "| --- | --- | --- |"]
    for top, block in (yaml.safe_load(text) or {}).items():
        rows.extend(_rows(block, (str(top),), comments))
    body = "\n".join("    " + line if line else "" for line in lines)
    return (
        f"Generated from `conf/base/parameters_{name}.yml` when the site is built. Override any "
        f"of them for one run with `--params {name}.<key>=<value>`, or for a machine in "
        "`conf/local/`.\n\n"
        + "\n".join(rows)
        + f'\n\n??? note "The whole file: conf/base/parameters_{name}.yml"\n\n'
        + "    ```yaml\n"
        + body
        + "\n    ```\n"
    )


def _pipelines() -> dict[str, Any]:
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(ROOT)
    # The pipelines' imports warn about their own dependencies' deprecations: not the docs'.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return dict(pipelines)


def nodes(name: str) -> str:
    registered = _pipelines()
    if name not in registered:
        raise PluginError(f"<!-- nodes: {name} -->: no pipeline {name!r} is registered")
    rows = ["| Node | Reads | Writes |", "| --- | --- | --- |"]
    for node in registered[name].nodes:
        reads = ", ".join(f"`{d}`" for d in node.inputs)
        writes = ", ".join(f"`{d}`" for d in node.outputs)
        rows.append(f"| `{node.name}` | {reads} | {writes} |")
    return f"Generated from the registered `{name}` pipeline (in run order).\n\n" + "\n".join(rows)


def raw_schema() -> str:
    params = yaml.safe_load((CONF / "parameters_data_processing.yml").read_text())
    p = params["data_processing"]
    rows = ["| Column | Kind | Rules |", "| --- | --- | --- |"]
    rows.append(
        f"| `{p['key_column']}` (or a leading unnamed index column) | key | any position; "
        "text or number; missing, or repeating an earlier row: rejected |"
    )
    rows.append(
        f"| `{p['date_column']}` | date | ISO 8601, with or without a time; an offset is "
        "converted to UTC; missing, unparseable or outside 1678-2261: rejected |"
    )
    rows.append(
        f"| `{p['city_column']}` | text | lower-cased, quotes and spaces trimmed, aliases "
        f"applied, then tier 1/2 from `city_tiers`; other or missing: tier "
        f"{p['default_city_tier']} |"
    )
    for col in p["categorical_columns"]:
        rows.append(f"| `{col}` | level | any text; missing kept as missing |")
    zero = set(p["fill_missing_with_zero"])
    for col in p["count_columns"]:
        fill = "; missing means 0" if col in zero else ""
        rows.append(
            f"| `{col}` | count | whole number 0 to {p['max_count']:,}{fill}; otherwise rejected |"
        )
    for col in p["flag_columns"]:
        fill = "; missing means 0" if col in zero else ""
        rows.append(f"| `{col}` | flag | 0 or 1{fill}; otherwise rejected |")
    for group, cols in p["interaction_groups"].items():
        for col in cols:
            rows.append(
                f"| `{col}` | interaction count | summed into `{group}`; missing means 0; "
                f"same rules as counts |"
            )
    rows.append(
        f"| `{p['label_column']}` | label | 0 or 1; required for training, absent in new "
        "leads; missing or other values: rejected |"
    )
    return "\n".join(rows)
