#!/usr/bin/python3
"""Seeded random templates for the differential test against Jinja2.

Usage: random_templates.py SEED COUNT
Prints {"cases": [{"template": ..., "vars": ...}, ...]} on stdout: nested expressions of the
operators, filters, tests, methods and statements chat templates use, over a fixed set of
variables. tests/template/template_random_test.cpp renders them with our renderer and with
render_reference.py (Jinja2 set up as transformers does) and compares.
"""
import json
import random
import sys

ATOMS = ["1", "0", "-2", "2.5", "0.0", "'a'", "''", "'Ab c'", "none", "true", "false", "[1, 2]", "[]",
         "{'k': 1}", "{}", "x", "y", "s", "l", "d", "n", "nope", "msgs", "(1, 'a')", "'  p  '", "3", "7",
         "'\u00e9'", "'a\\nb'"]
BINOPS = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">=", "and", "or", "in", "not in", "**"]
FILTERS = ["trim", "upper", "lower", "length", "first", "last", "string", "int", "float", "abs", "list",
           "tojson", "join(',')", "default('D')", "default('D', true)", "reverse", "sort", "unique",
           "capitalize", "title", "replace('a', 'b')", "round", "items", "count", "e", "indent(2)",
           "wordcount", "select", "reject('none')", "map('string')", "sum", "min", "max",
           "tojson(indent=2)", "safe", "selectattr('role')", "map(attribute='role')", "list|length",
           "select('odd')|list", "trim('a')"]
TESTS = ["defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "iterable",
         "sequence", "boolean", "true", "false", "odd", "even", "equalto 1", "eq 'a'", "ne 2",
         "in [1, 'a']", "lower", "upper", "callable", "divisibleby 2"]
METHODS = [".strip()", ".upper()", ".lower()", ".split()", ".split(',')", ".startswith('a')",
           ".endswith('c')", ".title()", ".replace('a', 'x')", ".items()|list", ".keys()|list",
           ".get('k')", ".get('k', 5)", "[0]", "[-1]", "[1:]", "[::-1]", ".role", "['k']", ".rstrip('  ')"]
VARS = {"x": 3, "y": "yy", "s": "  a,b  ", "l": [3, 1, 2], "d": {"k": 1, "role": "r"}, "n": None,
        "msgs": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}


def expr(rng, depth=0):
    r = rng.random()
    if depth > 3 or r < 0.3:
        return rng.choice(ATOMS)
    if r < 0.5:
        return "(%s %s %s)" % (expr(rng, depth + 1), rng.choice(BINOPS), expr(rng, depth + 1))
    if r < 0.65:
        return "%s|%s" % (expr(rng, depth + 1), rng.choice(FILTERS))
    if r < 0.75:
        return "(%s is %s%s)" % (expr(rng, depth + 1), rng.choice(["", "not "]), rng.choice(TESTS))
    if r < 0.85:
        return "%s%s" % (rng.choice(["s", "d", "l", "msgs[0]", "'a,b c'", "x"]), rng.choice(METHODS))
    if r < 0.92:
        return "(%s if %s else %s)" % (expr(rng, depth + 1), expr(rng, depth + 1), expr(rng, depth + 1))
    return "(not %s)" % expr(rng, depth + 1)


def stmt(rng, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.35:
        return "{{ %s }}" % expr(rng)
    if r < 0.5:
        return "{%% for i in %s %%}[{{ i }}{{ loop.index }}]%s{%% endfor %%}" % (
            rng.choice(["l", "s", "d", "msgs", "range(3)", "nope", "[]", "d|items"]), stmt(rng, depth + 1))
    if r < 0.65:
        return "{%% if %s %%}%s{%% else %%}%s{%% endif %%}" % (expr(rng), stmt(rng, depth + 1), stmt(rng, depth + 1))
    if r < 0.75:
        return "{%% set x = %s %%}%s" % (expr(rng), stmt(rng, depth + 1))
    if r < 0.85:
        return " \n  {%%- if %s -%%}\n  A {{ x }}\n{%% endif %%}\n" % expr(rng)
    return "%s%s" % (stmt(rng, depth + 1), stmt(rng, depth + 1))


def main():
    rng = random.Random(int(sys.argv[1]))
    count = int(sys.argv[2])
    cases = [{"template": stmt(rng), "vars": VARS} for _ in range(count)]
    json.dump({"cases": cases}, sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
