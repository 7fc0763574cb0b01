#!/usr/bin/python3
"""Renders chat templates with Jinja2 set up as transformers sets it up for apply_chat_template.

Usage: render_reference.py CASES.json
CASES.json: {"cases": [{"template": "...", "vars": {...}}, ...]} ("template_file": a path relative
to the repository root may stand for "template"). Prints a JSON list, one entry per case:
{"output": "..."} or {"error": "...", "raised": true|false} (raised: the template called
raise_exception, and "error" is its message).

The environment mirrors transformers' chat template compilation: ImmutableSandboxedEnvironment
with trim_blocks and lstrip_blocks, the loopcontrols extension, a {% generation %} tag that
renders its body, a tojson filter that is json.dumps with ensure_ascii=False and keys in
insertion order (no HTML escaping), and the raise_exception and strftime_now globals.
"""
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Raised(jinja2.exceptions.TemplateError):
    pass


class GenerationTag(jinja2.ext.Extension):
    """{% generation %}...{% endgeneration %}: transformers uses it to mark assistant tokens
    for training masks; for rendering it outputs its body unchanged."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render_body"), [], [], body).set_lineno(lineno)

    def _render_body(self, caller):
        return caller()


def raise_exception(message):
    raise Raised(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return datetime.datetime.now().strftime(format)


def make_env():
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(env, case):
    source = case.get("template")
    if source is None:
        with open(os.path.join(ROOT, case["template_file"]), encoding="utf-8") as f:
            source = f.read()
    # A fresh copy per case: some of Jinja's filters change their input in place (|indent on a list).
    variables = json.loads(json.dumps(case.get("vars", {})))
    try:
        return {"output": env.from_string(source).render(**variables)}
    except Raised as e:
        return {"error": e.message, "raised": True}
    except Exception as e:  # any failure of Jinja2 is an expected error on our side too
        return {"error": "%s: %s" % (type(e).__name__, e), "raised": False}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    env = make_env()
    json.dump([render(env, c) for c in cases], sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
