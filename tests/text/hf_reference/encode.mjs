// Encodes texts with Hugging Face's tokenizers (its Rust core, through the npm binding) so that
// mmserve's tokenizer.json implementation can be compared with the original.
//
//   node encode.mjs TOKENIZER_JSON < texts.json > out.json
//
// stdin: a JSON array of strings. stdout: a JSON array, one object per text:
// {ids_with_special, ids, decoded, decoded_skip} (decoded: ids without skipping special tokens;
// decoded_skip: ids_with_special, skipping them). Exit 77 when the package is not installed.
import { readFileSync } from 'node:fs';

let Tokenizer;
try {
  ({ Tokenizer } = await import('@anush008/tokenizers'));
} catch (e) {
  console.error(`@anush008/tokenizers is not installed (run npm ci in tests/text/hf_reference): ${e.message}`);
  process.exit(77);
}
if (process.argv.length < 3) {
  console.error('usage: node encode.mjs TOKENIZER_JSON < texts.json');
  process.exit(2);
}
const tokenizer = Tokenizer.fromFile(process.argv[2]);
const texts = JSON.parse(readFileSync(0, 'utf8'));
const out = [];
for (const text of texts) {
  const withSpecial = (await tokenizer.encode(text, null, { addSpecialTokens: true })).getIds();
  const plain = (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds();
  out.push({
    ids_with_special: withSpecial,
    ids: plain,
    decoded: await tokenizer.decode(plain, false),
    decoded_skip: await tokenizer.decode(withSpecial, true),
  });
}
process.stdout.write(JSON.stringify(out));
