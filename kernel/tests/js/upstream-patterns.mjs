// Run by patterns.test.mjs in a child process: computes pattern-cases.mjs's results with
// upstream's @endo/patterns, @endo/marshal and @endo/exo (the copies npm installs for the
// endo bundle fixture), under SES as upstream code runs, and writes them as JSON to the file its argument names.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { computeResults } from './pattern-cases.mjs';

const modules = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/endo/node_modules');
const load = (p) => import(path.join(modules, p));
// SES, lockdown (production's: messages redacted as real xsnap vat workers have them) and
// the HandledPromise shim.
await load('@endo/init/index.js');
const patterns = await load('@endo/patterns/index.js');
const marshal = await load('@endo/marshal/index.js');
const passStyle = await load('@endo/pass-style/index.js');
const exo = await load('@endo/exo/index.js');

const refs = new Map();
const lib = {
  ...patterns,
  makeTagged: passStyle.makeTagged,
  Far: passStyle.Far,
  compareRank: marshal.compareRank,
  makeMarshal: marshal.makeMarshal,
  makeExo: exo.makeExo,
  harden,
  refs,
  ref: (name, make) => {
    const v = make();
    refs.set(v, name);
    return v;
  },
};
// To a file: upstream's marshal logs errors it sends to the console.
const [outFile] = process.argv.slice(2);
(await import('node:fs')).writeFileSync(outFile, JSON.stringify(await computeResults(lib)));
