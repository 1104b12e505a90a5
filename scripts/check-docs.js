// Run by `npm run docs` after TypeDoc wrote docs/api: checks that the API reference is one a user
// reads. Its front page is the README (every `## ` heading of README.md is there); its modules are
// named as users import them (the specifiers of package.json's `exports`, not file names such as
// "index"); and no internal type appears in it, neither in a page nor in the navigation or search
// data (deflated JSON in assets/). Exits non-zero on any finding.
import { Buffer } from 'node:buffer';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';

/** Types that are exported for the declarations only (or not at all), never documented. */
const INTERNAL = ['FailureEnvelope', 'NeedGroup', 'SharedTree', 'Waitable', 'GroupHost', 'TaskEnvelope', 'SlotEnvelope'];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'docs', 'api');

function fail(message) {
  process.stderr.write(`check-docs: ${message}\n`);
  process.exitCode = 1;
}

/** The data TypeDoc stores in assets/NAME.js as `window.NAMEData = "<deflated JSON, base64>"`. */
function assetData(name) {
  const text = readFileSync(join(out, 'assets', `${name}.js`), 'utf8');
  const base64 = /= "([A-Za-z0-9+/=]+)"/.exec(text)?.[1];
  if (base64 === undefined) throw new Error(`assets/${name}.js: no base64 data`);
  return inflateSync(Buffer.from(base64, 'base64')).toString('utf8');
}

/** A page's text: tags dropped, entities decoded (the few TypeDoc writes). */
function pageText(html) {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const pages = readdirSync(out, { recursive: true })
  .filter((file) => file.endsWith('.html'))
  .map((file) => ({ file, text: readFileSync(join(out, file), 'utf8') }));
const navigation = assetData('navigation');
const search = assetData('search');

// 1. The front page is the README.
const front = pageText(readFileSync(join(out, 'index.html'), 'utf8'));
const headings = [...readme.matchAll(/^## (.+)$/gm)].map((match) => pageText(match[1].replace(/`/g, '')).trim());
const absent = headings.filter((heading) => !front.includes(heading));
if (headings.length === 0) fail('README.md has no ## headings to look for');
if (absent.length > 0) fail(`docs/api/index.html is not the README: headings missing: ${absent.join(', ')}`);

// 2. The modules are the package's specifiers, in the navigation tree and as page titles.
const specifiers = Object.keys(pkg.exports)
  .map((key) => (key === '.' ? pkg.name : `${pkg.name}/${key.replace(/^\.\//, '')}`))
  .sort();
const modules = JSON.parse(navigation)
  .map((node) => node.text)
  .sort();
if (JSON.stringify(modules) !== JSON.stringify(specifiers)) fail(`modules are ${JSON.stringify(modules)}, not the specifiers ${JSON.stringify(specifiers)}`);
const titles = pages
  .map(({ text }) => /<h1[^>]*>Module (.+?)<\/h1>/.exec(text)?.[1])
  .filter((title) => title !== undefined)
  .sort();
if (JSON.stringify(titles) !== JSON.stringify(specifiers)) fail(`module pages are titled ${JSON.stringify(titles)}, not ${JSON.stringify(specifiers)}`);

// 3. No internal type anywhere.
const sources = [...pages.map(({ file, text }) => ({ where: file, text: pageText(text) })), { where: 'assets/navigation.js', text: navigation }, { where: 'assets/search.js', text: search }];
for (const { where, text } of sources) {
  const found = INTERNAL.filter((name) => new RegExp(`\\b${name}\\b`).test(text));
  if (found.length > 0) fail(`${where} names internal types: ${found.join(', ')}`);
}

if (process.exitCode === undefined) {
  process.stdout.write(`check-docs: ${relative(root, out)}: README front page, modules ${specifiers.join(', ')}, no internal type in ${sources.length} files\n`);
}
