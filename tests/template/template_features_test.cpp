// Each statement, expression form, filter, test and method of the Jinja subset, rendered by
// ChatTemplate and by Jinja2 (tests/template/render_reference.py) and compared byte for byte.
#include <gtest/gtest.h>

#include "jinja_reference.h"

namespace mms::tmpl::testing {
namespace {

// Variables every case sees.
nlohmann::ordered_json CommonVars() {
  return nlohmann::ordered_json::parse(R"({
    "d": {"b": 1, "a": "x", "nested": {"k": [1, 2, {"z": null}]}},
    "l": [3, 1, 2],
    "words": ["banana", "Apple", "cherry", "apple"],
    "s": "  Hello World  ",
    "n": null,
    "f": 2.5,
    "t": true,
    "e": [],
    "ed": {},
    "u": "h\u00e9llo w\u00f6rld \u2713 \ud83d\ude00",
    "people": [{"name": "bo", "age": 30, "admin": true}, {"name": "al", "age": 25},
               {"name": "cy", "age": 35, "admin": false}],
    "msgs": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"},
             {"role": "assistant", "content": "yo"}, {"role": "user", "content": "q"}],
    "big": 9007199254740993,
    "neg": -7
  })");
}

std::vector<RefCase> Cases(std::initializer_list<const char*> templates) {
  std::vector<RefCase> cases;
  for (const char* t : templates) {
    RefCase c;
    c.label = "features";
    c.template_text = t;
    c.vars = CommonVars();
    cases.push_back(std::move(c));
  }
  return cases;
}

TEST(TemplateFeatures, Literals) {
  ExpectSameAsJinja2(Cases({
      "{{ 'a\\nb\\t\\\\ \\'q\\' \\x41\\u00e9\\U0001F600 \\d' }}",
      "{{ \"dq 'x'\" }}{{ 'adj' 'acent' }}",
      "{{ 42 }} {{ -3 }} {{ 1_000 }} {{ 3.25 }} {{ 1e3 }} {{ 2.5E-3 }} {{ 1.0 }} {{ 1e16 }} {{ 1e15 }} {{ 0.1 + 0.2 }}",
      "{{ true }} {{ True }} {{ false }} {{ none }} {{ None }}",
      "{{ [1, 'a', none, true, 2.0, [3]] }}",
      "{{ {'k': 'v', 'n': 1, 'l': [1, 2]} }}",
      "{{ (1, 2) }}{{ (1,) }}{{ () }}",
      "{{ 'it\\'s' }} {{ [\"it's\", 'say \"x\"', 'both \\' \"'] }}",
      "{{ ['\\n', '\\x01', '\\u00a0', '\\u00e9'] }}",
      "{{ 1, 2 }}",
  }));
}

TEST(TemplateFeatures, Arithmetic) {
  ExpectSameAsJinja2(Cases({
      "{{ 7 + 2 }} {{ 7 - 9 }} {{ 3 * 4 }} {{ 7 / 2 }} {{ 8 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 // -2 }}",
      "{{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2 ** 3 ** 2 }} {{ 2.5 * 2 }}",
      "{{ 7.5 // 2 }} {{ -7.5 // 2 }} {{ 7.5 % 2 }} {{ -7.5 % 2 }} {{ 1 + 2.0 }} {{ true + 1 }}",
      "{{ 'ab' * 3 }}{{ 3 * 'x' }}{{ [1, 2] * 2 }}{{ 'a' * 0 }}{{ 'a' * -1 }}",
      "{{ 'a' + 'b' }}{{ [1] + [2, 3] }}{{ 'x' ~ 1 ~ none ~ 2.0 ~ true ~ [1] }}",
      "{{ -f }} {{ +f }} {{ -(3) }} {{ - 2 ** 2 }} {{ neg|abs }} {{ big }}",
      "{{ 1 + 2 * 3 - 4 / 2 }} {{ (1 + 2) * 3 }} {{ 10 - 2 - 3 }} {{ 2 * 3 ~ 4 + 1 }}",
      "{{ 1 / 0 }}",
      "{{ 1 // 0 }}",
      "{{ 'a' + 1 }}",
      "{{ nope + 1 }}",
      "{{ 'a' - 'b' }}",
      "{{ 1 % 0 }}",
  }));
}

TEST(TemplateFeatures, ComparisonsAndLogic) {
  ExpectSameAsJinja2(Cases({
      "{{ 1 == 1.0 }} {{ 1 == true }} {{ 'a' == 'a' }} {{ [1, 2] == [1, 2] }} {{ (1, 2) == [1, 2] }} {{ none == none }}",
      "{{ d == {'a': 'x', 'b': 1, 'nested': d.nested} }} {{ 1 != 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }}",
      "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 3 >= 3 }} {{ 2 <= 1 }} {{ 2.5 > 2 }}",
      "{{ 'ell' in 'hello' }} {{ 2 in l }} {{ 'a' in d }} {{ 'z' not in d }} {{ 5 not in l }} {{ 'x' in nope }}",
      "{{ 1 and 2 }} {{ 0 and 2 }} {{ 0 or 'z' }} {{ '' or [] }} {{ not 0 }} {{ not [1] }} {{ not not 'a' }}",
      "{{ nope == nope }} {{ nope == none }} {{ n is none and not nope is defined }}",
      "{{ 'yes' if t else 'no' }} {{ 'yes' if e else 'no' }} [{{ 'only' if e }}] {{ 1 if 0 else 2 if 0 else 3 }}",
      "{{ 1 < 'a' }}",
      "{{ 1 in 2 }}",
      "{{ 1 in 'abc' }}",
      "{{ nope < 1 }}",
  }));
}

TEST(TemplateFeatures, AttributesAndSubscripts) {
  ExpectSameAsJinja2(Cases({
      "{{ d.a }} {{ d['b'] }} {{ d.nested.k[2].z }} {{ d.nested['k'][-1] }} {{ l[0] }} {{ l[-1] }} {{ l.1 }}",
      "[{{ d.missing }}][{{ d['missing'] }}][{{ l[10] }}][{{ n.x }}][{{ msgs[0].nope }}]",
      "{{ d.missing is defined }} {{ d.a is defined }} {{ l[9] is undefined }}",
      "{{ u[0] }}{{ u[-1] }}{{ u[1:5] }}{{ u|length }}",
      "{{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ l[5:] }} {{ l[-10:2] }} {{ 'abcdef'[1:5:2] }} {{ 'abc'[::-1] }}",
      "{{ msgs[1:]|length }} {{ msgs[-1].content }} {{ (msgs|last).role }}",
      "{{ d.missing.deeper }}",
      "{{ nope.x }}",
      "{{ nope[0] }}",
      "{{ l[::0] }}",
  }));
}

TEST(TemplateFeatures, Statements) {
  ExpectSameAsJinja2(Cases({
      "{% if t %}A{% elif n %}B{% else %}C{% endif %}{% if n %}A{% elif l %}B{% endif %}{% if e %}x{% else %}y{% endif %}",
      "{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}:{{ x }} {% endfor %}",
      "{% for x in l %}{{ loop.previtem }}-{{ loop.nextitem }}|{% endfor %}",
      "{% for x in l %}{{ loop.cycle('odd', 'even') }} {% endfor %}",
      "{% for x in e %}x{% else %}empty{% endfor %}{% for x in nope %}x{% else %}undef{% endfor %}",
      "{% for x in l if x > 1 %}{{ x }}/{{ loop.index }}/{{ loop.length }} {% endfor %}",
      "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k, v in d|items %}{{ k }};{% endfor %}",
      "{% for k in d %}{{ k }}{% endfor %}{% for c in 'h\u00e9!' %}[{{ c }}]{% endfor %}",
      "{% for x in l %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% if x == 1 %}{% break %}{% endif %}{% endfor %}",
      "{% for x in [1, 2, 3, 4] %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}",
      "{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }} {% endfor %}{{ loop.index }}|{% endfor %}",
      "{% set x = 1 %}{% for i in l %}{% set x = i %}{{ x }}{% endfor %}{{ x }}",
      "{% for i in [1,2] %}{% if i == 2 %}[{{ y }}]{% endif %}{% set y = i %}{% endfor %}[{{ y }}]",
      "{% set a, b = [1, 2] %}{{ a }}{{ b }}{% set c = 1, 2 %}{{ c }}",
      "{% set ns = namespace(count=0, found=false) %}{% for x in l %}{% set ns.count = ns.count + x %}{% if x == 1 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }}{{ ns.found }}{{ ns.missing }}",
      "{% set ns = namespace() %}{% set ns.x = 'v' %}{{ ns.x }}",
      "{% set block %}inner {{ d.a }}{% endset %}[{{ block }}]{% set up | upper %}shout{% endset %}{{ up }}",
      "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('bo') }} {{ greet('al', '?') }} {{ greet(name='cy', punct='.') }} {{ greet() }}",
      "{% macro outer(x) %}<{{ inner(x) }}>{% endmacro %}{% macro inner(y) %}{{ y * 2 }}{% endmacro %}{{ outer(3) }}",
      "{% macro m(x) %}{{ x }}{{ d.a }}{% endmacro %}{% set top = 'T' %}{{ m(1) }}",
      "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ d.a }}{% endcall %}",
      "{% macro item(i) %}<li>{{ caller(i * 10) }}</li>{% endmacro %}{% for m in msgs %}{% call(x) item(loop.index) %}{{ m.role }}{{ x }}{% endcall %}{% endfor %}",
      "{% macro rec(n) %}{{ n }}{% if n > 0 %}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(5) }}",
      "{% filter upper %}loud {{ d.a }}{% endfilter %}",
      "{% with a = 1, b = 'x' %}{{ a }}{{ b }}{% endwith %}[{{ a }}]",
      "{% generation %}gen {{ d.a }}{% endgeneration %}",
      "a{# a comment #}b{#- trimmed -#}  c",
      "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}",
      "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(b=2) }}",
      "{% set x = 5 %}{% set x = x + 1 %}{{ x }}",
      "{% for x in l if x > 10 %}{{ x }}{% else %}none passed{% endfor %}",
      "{% macro m(a, b=a * 2) %}{{ a }}/{{ b }}{% endmacro %}{{ m(3) }} {{ m(3, 1) }}",
      "{% for m in msgs %}{% set block %}[{{ m.role }}]{% endset %}{{ block }}{% endfor %}[{{ block }}]",
      "{{ d is not mapping }} {{ nope is not defined }} {{ 3 is not odd }} {{ not d is defined }}",
      "{% for m in msgs %}\n  {%- generation -%}\n  {{ m.content }}\n  {%- endgeneration %}\n{% endfor %}",
      "{% if msgs[0]['role'] == 'system' %}{% set loop_messages = msgs[1:] %}{% else %}{% set loop_messages = msgs %}{% endif %}{{ loop_messages|length }}",
      "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}{% for a, b in [[1, 2, 3]] %}{% endfor %}",
  }));
}

TEST(TemplateFeatures, Whitespace) {
  ExpectSameAsJinja2(Cases({
      "a\n  {% if t %}\n  b\n  {% endif %}\nc\n",
      "a  {%- if t -%}  b  {%- endif -%}  c",
      "{{- '  x  ' -}}  \n {{ 'y' }}\n\n",
      "line\n    {{ 'v' }}\n    {# note #}\nend",
      "x  {%+ if t %}y{% endif +%}\nz",
      "{% for m in msgs %}\n    {{ m.role }}\n{% endfor %}\n",
      "{%- for m in msgs -%}\n  [{{ m.content }}]\n{%- endfor -%}\n",
      "a\r\nb\rc\n{% if t %}\r\nd{% endif %}\r\n",
      "  {% set x = 1 %}\n  {{ x }}  \n",
      "text with { braces } and {{ '{' }} and }} and %}",
      "{{ {'a': {'b': 1}} }}",
  }));
}

TEST(TemplateFeatures, Filters) {
  ExpectSameAsJinja2(Cases({
      "[{{ s|trim }}][{{ 'xxhixx'|trim('x') }}][{{ s|upper }}][{{ s|lower }}][{{ 'hello WORLD'|capitalize }}]",
      "[{{ 'hello big-world (of) [x] <y> o\\'neil'|title }}][{{ nope|upper }}][{{ n|string }}][{{ 12|string }}]",
      "{{ l|length }} {{ s|length }} {{ u|count }} {{ d|length }} {{ nope|length }} {{ e|length }}",
      "{{ l|first }} {{ l|last }} {{ 'abc'|first }} {{ 'abc'|last }} {{ d|first }} [{{ e|first }}]",
      "{{ l|join(', ') }} {{ words|join }} {{ people|join('/', attribute='name') }} {{ [1, none, 'a']|join('-') }}",
      "[{{ nope|default('dflt') }}][{{ n|default('dflt') }}][{{ ''|default('dflt', true) }}][{{ ''|d('x', boolean=true) }}][{{ 0|default(5) }}]",
      "{{ d|tojson }}|{{ l|tojson }}|{{ u|tojson }}|{{ 'q\"\\\\\\n\\t\\x01'|tojson }}|{{ n|tojson }}|{{ 1.5|tojson }}|{{ true|tojson }}",
      "{{ d|tojson(indent=2) }}|{{ e|tojson(indent=4) }}|{{ ed|tojson(indent=4) }}|{{ people|tojson(indent=4) }}",
      "{{ d|tojson(sort_keys=true) }}|{{ u|tojson(ensure_ascii=true) }}|{{ d|tojson(separators=(',', ':')) }}",
      "{{ nope|tojson }}",
      "{{ '42'|int }} {{ ' 7 '|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(9) }} {{ 3.9|int }} {{ -3.9|int }} {{ true|int }} {{ n|int }}",
      "{{ '2.5'|float }} {{ 'x'|float }} {{ 3|float }} {{ '1e3'|float }} {{ n|float(1.5) }}",
      "{{ -3|abs }} {{ -2.5|abs }} {{ 2.567|round(2) }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.567|round(1, 'floor') }} {{ 2.561|round(1, 'ceil') }} {{ 7|round }}",
      "{{ 15|round(-1) }} {{ 25|round(-1) }} {{ -15|round(-1) }} {{ 1234|round(-2) }} {{ 1250|round(-2) }} {{ 7|round(2) }} {{ 1234.5|round(-2) }} {{ 7|round(-1, 'floor') }}",
      "{{ 'abc'|list }} {{ d|list }} {{ l|list }} {{ nope|list }}",
      "{{ d|items|list }} {{ nope|items|list }}",
      "{{ people|selectattr('admin')|map(attribute='name')|list }} {{ people|rejectattr('admin')|map(attribute='name')|list }}",
      "{{ people|selectattr('age', 'gt', 26)|map(attribute='name')|join(',') }} {{ people|selectattr('name', 'equalto', 'al')|list|length }}",
      "{{ people|selectattr('admin', 'defined')|map(attribute='name')|list }} {{ people|rejectattr('admin', 'undefined')|list|length }}",
      "{{ n|selectattr('x')|list }} {{ n|map('upper')|list }} {{ ''|select|list }} {{ nope|rejectattr('x')|list }}",
      "{{ msgs|selectattr('role', 'eq', 'user')|map(attribute='content')|list }} {{ msgs|selectattr('role', '==', 'system')|list|length }}",
      "{{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ [0, 1, '', 'a', none]|select|list }} {{ words|reject('equalto', 'Apple')|list }}",
      "{{ people|map(attribute='missing', default='?')|list }} {{ words|map('upper')|list }} {{ [' a ', 'b ']|map('trim')|join }}",
      "{{ words|unique|list }} {{ words|unique(case_sensitive=true)|list }} {{ [1, 2, 1, 3]|unique|list }}",
      "{{ l|reverse|list }} {{ 'abc'|reverse }} {{ l|sort }} {{ l|sort(reverse=true) }} {{ words|sort }} {{ words|sort(case_sensitive=true) }}",
      "{{ people|sort(attribute='age')|map(attribute='name')|join }} {{ people|sort(attribute='name', reverse=true)|map(attribute='name')|join }}",
      "{{ 'aXbXc'|replace('X', '-') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'ab'|replace('', '.') }} {{ 5|replace('5', 'five') }}",
      "{{ '<a href=\"x\">&\\'</a>'|e }} {{ '<b>'|escape }} {{ '<i>'|safe }}",
      "[{{ 'a\\nb\\n\\nc'|indent }}][{{ 'a\\nb'|indent(2, true) }}][{{ 'a\\n\\nb'|indent(first=true, blank=true) }}][{{ 'x\\ny'|indent('> ') }}]",
      "{{ 'one two  three, four-five'|wordcount }} {{ ''|wordcount }}",
      "{{ l|sum }} {{ people|sum(attribute='age') }} {{ l|min }} {{ l|max }} {{ words|min }} {{ people|max(attribute='age')|attr('name') }}",
      "{% if e|select %}lazy-true{% endif %}{% if e|select|list %}x{% else %}empty{% endif %} {{ l|map('string') is sequence }} {{ l|map('string') is iterable }} {{ l|reverse is sequence }} {{ l|reverse|reverse }} {{ (l|select('odd'))[0] }}",
      "{{ l|select|length }}",
      "{{ l|select|last }}",
      "{{ l|select|tojson }}",
      "{{ msgs|selectattr('role', 'equalto', 'user') == msgs|selectattr('role', 'equalto', 'user') }} {{ d|items|first }}",
      "{{ 5|indent }}",
      "{{ 'x'|nosuchfilter }}",
      "{{ [1, 'a']|sort }}",
      "{{ 5|length }}",
  }));
}

TEST(TemplateFeatures, Tests) {
  ExpectSameAsJinja2(Cases({
      "{{ d is defined }}{{ nope is defined }}{{ nope is undefined }}{{ n is none }}{{ d is not none }}",
      "{{ 'a' is string }}{{ 1 is string }}{{ 1 is number }}{{ 1.5 is number }}{{ t is number }}{{ 'a' is number }}",
      "{{ 1 is integer }}{{ t is integer }}{{ 1.0 is integer }}{{ 1.0 is float }}{{ t is boolean }}{{ 1 is boolean }}",
      "{{ t is true }}{{ t is false }}{{ 1 is true }}{{ false is false }}",
      "{{ d is mapping }}{{ l is mapping }}{{ l is iterable }}{{ 'a' is iterable }}{{ 1 is iterable }}{{ nope is iterable }}{{ n is iterable }}",
      "{{ l is sequence }}{{ 'a' is sequence }}{{ d is sequence }}{{ 1 is sequence }}{{ n is sequence }}",
      "{{ 3 is odd }}{{ 3 is even }}{{ 4 is even }}{{ -3 is odd }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(2) }}",
      "{{ 'a' is equalto 'a' }}{{ 1 is eq 1.0 }}{{ 1 is ne 2 }}{{ 2 is gt 1 }}{{ 2 is lt 1 }}{{ 2 is ge 2 }}{{ 2 is le 1 }}{{ 2 is in l }}",
      "{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ 'aBc' is lower }}{{ n is sameas none }}{{ t is sameas true }}",
      "{{ range is callable }}{{ d is callable }}{{ d.items is callable }}",
      "{{ msgs[0].content is string and msgs[0].content is not mapping }}",
      "{{ 2.5 is odd }}{{ 2.5 is even }}{{ 3.0 is odd }}{{ nope is callable }}",
      "{{ {} in d }}",
      "{{ nope|int }}",
      "{{ 1 is nosuchtest }}",
      "{{ nope.x is defined }}",
  }));
}

TEST(TemplateFeatures, MethodsAndGlobals) {
  ExpectSameAsJinja2(Cases({
      "[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ '--x--'.strip('-') }}][{{ 'xyhixy'.lstrip('xy') }}]",
      "{{ 'Hi'.upper() }} {{ 'Hi'.lower() }} {{ \"they're bill's 1st\".title() }} {{ 'hELLO'.capitalize() }}",
      "{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('lo') }} {{ 'hello'.startswith(('x', 'h')) }} {{ 'hello'.endswith('x') }}",
      "{{ ' a  b c '.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ '  a b c '.split(none, 1) }} {{ 'a,b,c'.rsplit(',', 1) }}",
      "{{ 'aXbX'.replace('X', 'y') }} {{ 'hello'.find('l') }} {{ 'hello'.find('z') }} {{ 'h\u00e9llo'.find('l') }} {{ 'aaa'.count('a') }}",
      "{{ '-'.join(['a', 'b']) }} {{ 'a\\nb\\r\\nc'.splitlines() }} {{ '123'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }}",
      "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys()|list }} {{ d.values()|list|length }}",
      "{% for k, v in d.items() if k != 'nested' %}{{ k }}:{{ v }} {% endfor %}",
      "{{ range(3)|list }} {{ range(1, 4)|list }} {{ range(10, 0, -3)|list }} {{ range(0)|list }} {{ range(-2)|list }}",
      "{{ range(100001)|length }}",
      "{{ namespace(a=1).a }} {{ dict(x=1, y='z') }}",
      "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}",
      "before{% if true %}{{ raise_exception('bad role: ' ~ msgs[0].role) }}{% endif %}",
      "{{ strftime_now('%Y') | length }}",
      "{{ l.append(4) }}",
      "{{ nope() }}",
      "{{ d() }}",
      "{{ ''.split('') }}",
  }));
}

TEST(TemplateFeatures, SyntaxErrors) {
  ExpectSameAsJinja2(Cases({
      "{% if x %}unclosed",
      "{% for x in l %}{% endif %}",
      "{{ 'unterminated }}",
      "{{ }}",
      "{% endfor %}",
      "{% unknowntag %}",
      "{{ 1 + }}",
      "{{ (1 }}",
      "{% break %}",
      "{% set %}",
      "{# unclosed comment",
      "{{ x | }}",
  }));
}

}  // namespace
}  // namespace mms::tmpl::testing
