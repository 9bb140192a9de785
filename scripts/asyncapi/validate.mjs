// Checks AsyncAPI documents with the official parser (@asyncapi/parser, its default
// ruleset): `node validate.mjs FILE...` (`-` reads standard input). Prints every
// diagnostic; exits 1 when any is an error or a warning, or when a document is not
// AsyncAPI 3.0.0, and 2 on a usage or read error. Run it through scripts/asyncapi.sh,
// which installs the locked parser first.
import { readFileSync } from 'node:fs';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const WANTED_VERSION = '3.0.0';
const FAILING = new Set([DiagnosticSeverity.Error, DiagnosticSeverity.Warning]);
const NAMES = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate.mjs FILE... (- for standard input)');
  process.exit(2);
}

const parser = new Parser();
let failed = false;
for (const file of files) {
  let text;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    console.error(`${file}: cannot read: ${error.message}`);
    process.exit(2);
  }
  const { document, diagnostics } = await parser.parse(text, { source: file === '-' ? undefined : file });
  let failures = 0;
  for (const d of diagnostics) {
    const where = d.path && d.path.length ? d.path.join('.') : '(document)';
    const line = d.range ? `:${d.range.start.line + 1}` : '';
    console.log(`${file}${line}: ${NAMES[d.severity] ?? d.severity} ${d.code} at ${where}: ${d.message}`);
    if (FAILING.has(d.severity)) failures += 1;
  }
  if (document === undefined) {
    console.log(`${file}: not a valid AsyncAPI document (${failures} problem(s))`);
    failed = true;
    continue;
  }
  const version = document.version();
  if (version !== WANTED_VERSION) {
    console.log(`${file}: AsyncAPI ${version}, not ${WANTED_VERSION}`);
    failed = true;
    continue;
  }
  if (failures > 0) {
    console.log(`${file}: ${failures} error(s) or warning(s)`);
    failed = true;
    continue;
  }
  console.log(
    `${file}: valid AsyncAPI ${version}: ${document.channels().length} channels, ` +
      `${document.operations().length} operations, ${document.allMessages().length} messages`,
  );
}
process.exit(failed ? 1 : 0);
