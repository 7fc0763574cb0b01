// Compares mmserve's tokenizer.json implementation with Hugging Face's tokenizers library
// (its Rust core through the npm binding) on a seeded random corpus, over the reference
// tokenizers and variants written here: Metaspace pre-tokenizer with prepend_scheme
// always / first / never and split on or off, and merges written as [a, b] pairs.
//
//   node compare.mjs PATH_TO_hf_tokenize_cli [SEED]
//
// Exit 0 when every text gives identical ids (with and without special tokens) and decoded
// text; 1 on a difference; 77 when the npm package is not installed (the test is skipped).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

let Tokenizer;
try {
  ({ Tokenizer } = await import('@anush008/tokenizers'));
} catch (e) {
  console.log(`SKIP: @anush008/tokenizers is not installed (npm ci in tests/text/hf_reference): ${e.message}`);
  process.exit(77);
}
const cli = process.argv[2];
const seed = Number(process.argv[3] ?? 20240611);
const here = dirname(fileURLToPath(import.meta.url));
const ref = join(here, '..', '..', 'data', 'llama-reference');

// mulberry32: a small seeded generator, so the corpus is the same on every run.
function rng(a) {
  return () => {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(seed);
const pick = (list) => list[Math.floor(random() * list.length)];
const pieces = [
  ' ', '  ', '   ', '\t', '\n', '\n\n', '\r\n', ' \n ', 'the', 'The', ' cat', 'Hello', 'world', "don't", "I'LL",
  '123', '4567', '3.14', '2024-06-11', '1e-9', '😀', '👍🏽', '👨‍👩‍👧', '🤖', '日本語', '中文', '한국어', 'Привет',
  'مرحبا', 'नमस्ते', 'é', 'e\u0301', 'ß', 'ﬁ', '½', '\u200b', '\u00a0', '\u2003', '▁', 'Ġ', '<s>', '</s>', '<unk>',
  '<|endoftext|>', '<|en|>', '<|0.00|>', '<|user|>', '<image>', '{"a": [1, 2]}', 'for (i = 0; i < n; ++i)',
  '    ', 'https://example.org/x?y=z', 'ALLCAPS', 'camelCase', '!!!', '...', '—', '\u0000', 'x'.repeat(40),
];
const corpus = [];
for (let i = 0; i < 300; ++i) {
  const n = 1 + Math.floor(random() * 8);
  let text = '';
  for (let k = 0; k < n; ++k) text += pick(pieces);
  corpus.push(text);
}
// Random code points too, across planes (no lone surrogates: JS strings only carry them).
for (let i = 0; i < 100; ++i) {
  let text = '';
  const n = 1 + Math.floor(random() * 12);
  for (let k = 0; k < n; ++k) {
    const r = random();
    let cp = r < 0.4 ? 0x20 + Math.floor(random() * 0x60) : r < 0.7 ? 0xa0 + Math.floor(random() * 0x3000)
           : r < 0.9 ? 0x4e00 + Math.floor(random() * 0x5000) : 0x1f300 + Math.floor(random() * 0x400);
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
    text += String.fromCodePoint(cp);
  }
  corpus.push(text);
}

const dir = mkdtempSync(join(tmpdir(), 'hf-tokenizer-compare-'));
const llama = JSON.parse(readFileSync(join(ref, 'model', 'tokenizer.json'), 'utf8'));
const variants = [
  ['llama', join(ref, 'model', 'tokenizer.json')],
  ['bytelevel', join(ref, 'tokenizer', 'bytelevel', 'tokenizer.json')],
];
for (const scheme of ['always', 'first', 'never']) {
  for (const split of [true, false]) {
    const t = structuredClone(llama);
    t.normalizer = null;
    t.pre_tokenizer = { type: 'Metaspace', replacement: '▁', prepend_scheme: scheme, split };
    t.decoder = { type: 'Metaspace', replacement: '▁', prepend_scheme: scheme, split };
    if (scheme === 'first') t.model.merges = t.model.merges.map((m) => m.split(' '));  // pairs
    const path = join(dir, `metaspace_${scheme}_${split}.json`);
    writeFileSync(path, JSON.stringify(t));
    variants.push([`metaspace ${scheme} split=${split}`, path]);
  }
}
const textsPath = join(dir, 'texts.json');
writeFileSync(textsPath, JSON.stringify(corpus));

let failures = 0, passed = 0;
for (const [name, path] of variants) {
  const tokenizer = Tokenizer.fromFile(path);
  const ours = JSON.parse(execFileSync(cli, [path, textsPath], { maxBuffer: 1 << 28 }).toString('utf8'));
  for (let i = 0; i < corpus.length; ++i) {
    const withSpecial = (await tokenizer.encode(corpus[i], null, { addSpecialTokens: true })).getIds();
    const plain = (await tokenizer.encode(corpus[i], null, { addSpecialTokens: false })).getIds();
    const expected = {
      ids_with_special: withSpecial, ids: plain,
      decoded: await tokenizer.decode(plain, false), decoded_skip: await tokenizer.decode(withSpecial, true),
    };
    const got = ours[i];
    const fields = ['ids_with_special', 'ids', 'decoded', 'decoded_skip'];
    const same = fields.every((f) => JSON.stringify(expected[f]) === JSON.stringify(got?.[f]));
    if (same) { ++passed; continue; }
    if (++failures <= 10) {
      console.log(`MISMATCH ${name} text ${JSON.stringify(corpus[i])}\n  expected ${JSON.stringify(expected)}\n  got      ${JSON.stringify(got)}`);
    }
  }
}
rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
