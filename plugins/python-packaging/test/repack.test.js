'use strict';

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { runScript } = require('../lib/python');
const { python312, makeZip, listZip } = require('../fixtures/support');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repack-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const sha = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const SOURCES = [
  ['handlers/__init__.py', ''],
  ['handlers/api.py', 'from shared import util\n\ndef handler(event, context):\n    return util.answer()\n'],
  ['shared/__init__.py', ''],
  ['shared/util.py', 'def answer():\n    return 42\n'],
  ['shared/__pycache__/util.cpython-312.pyc', 'stale bytecode from a build machine'],
];

function repack(file, root = '/var/task', python = python312()) {
  return runScript(python, 'repack.py', { archives: [{ path: file, root }] }, Error);
}

test('same sources in a different order, with other timestamps and modes, give byte-identical zips', () => {
  const first = makeZip(path.join(dir, 'first.zip'), SOURCES);
  const second = makeZip(path.join(dir, 'second.zip'), [...SOURCES].reverse(), { date: [2030, 1, 2, 3, 4, 6], mode: '600' });
  assert.notEqual(sha(first), sha(second));
  assert.equal(repack(first).status, 0);
  assert.equal(repack(second).status, 0);
  assert.equal(sha(first), sha(second));
  // repacking a repacked zip changes nothing
  const before = sha(first);
  repack(first);
  assert.equal(sha(first), before);
});

test('every module gets a checked-hash .pyc naming its Lambda path; stale bytecode is dropped', () => {
  const file = makeZip(path.join(dir, 'code.zip'), SOURCES);
  const { reports } = repack(file);
  assert.deepEqual(reports.map(({ entries, compiled, failed }) => ({ entries, compiled, failed })), [{ entries: 8, compiled: 4, failed: [] }]);
  const listing = listZip(file);
  assert.deepEqual(listing.map(([name]) => name), [
    'handlers/__init__.py',
    'handlers/__pycache__/__init__.cpython-312.pyc',
    'handlers/__pycache__/api.cpython-312.pyc',
    'handlers/api.py',
    'shared/__init__.py',
    'shared/__pycache__/__init__.cpython-312.pyc',
    'shared/__pycache__/util.cpython-312.pyc',
    'shared/util.py',
  ]);
  for (const [, date, mode] of listing) {
    assert.deepEqual(date, [1980, 1, 1, 0, 0, 0]);
    assert.equal(mode, 0o100644);
  }
  const inspect = `
import importlib.util, marshal, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    data = z.read("shared/__pycache__/util.cpython-312.pyc")
    source = z.read("shared/util.py")
flags = int.from_bytes(data[4:8], "little")
code = marshal.loads(data[16:])
print(data[:4] == importlib.util.MAGIC_NUMBER, flags, data[8:16] == importlib.util.source_hash(source), code.co_filename)
`;
  const out = execFileSync(python312(), ['-c', inspect, file], { encoding: 'utf8' }).trim();
  // flags 0b11: hash-based and checked against the source
  assert.equal(out, 'True 3 True /var/task/shared/util.py');
});

test('a layer is compiled for /opt, and files that do not compile stay as source and are named', () => {
  const file = makeZip(path.join(dir, 'layer.zip'), [
    ['python/dep/__init__.py', 'VALUE = 1\n'],
    ['python/dep/templates/page.py', '{% for row in rows %}\n  def (:\n'],
  ]);
  const { status, reports } = repack(file, '/opt');
  assert.equal(status, 0);
  assert.deepEqual(reports[0].failed, ['python/dep/templates/page.py']);
  assert.deepEqual(listZip(file).map(([name]) => name), [
    'python/dep/__init__.py',
    'python/dep/__pycache__/__init__.cpython-312.pyc',
    'python/dep/templates/page.py',
  ]);
});

test('bytecode from another Python than 3.12 is refused, naming the interpreter found', () => {
  const file = makeZip(path.join(dir, 'other.zip'), SOURCES);
  const other = ['python3.11', 'python3.13', 'python3'].find((name) => {
    try {
      return !execFileSync(name, ['-c', 'import sys; print(sys.version_info[:2] == (3, 12))'], { encoding: 'utf8' }).includes('True');
    } catch {
      return false;
    }
  });
  assert.ok(other, 'this test needs a Python other than 3.12 on PATH');
  const before = sha(file);
  const { status, stderr } = repack(file, '/var/task', other);
  assert.equal(status, 2);
  assert.match(stderr, /bytecode must be compiled by Python 3\.12, the Lambda runtime, but this is Python 3\.\d+/);
  assert.equal(sha(file), before);
});

test('an unreadable archive fails with its path and the cause', () => {
  const broken = path.join(dir, 'broken.zip');
  fs.writeFileSync(broken, 'not a zip');
  const { status, stderr } = repack(broken);
  assert.equal(status, 1);
  assert.equal(stderr, `repack: cannot read ${broken}: File is not a zip file`);
});
