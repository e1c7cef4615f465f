'use strict';

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { measure } = require('../lib/measure');
const { evaluate, describe } = require('../lib/rules');
const zips = require('../fixtures/zips');
const { serviceModel, layerRef } = require('../fixtures/model');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-rules-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const code = zips.writeZip(path.join(dir, 'code.zip'), { 'handlers/a.py': 'def handle(e, c):\n    return e\n' });

function check(spec, budget = 0.8) {
  const figures = measure(serviceModel(spec));
  return { figures, findings: evaluate(figures, budget) };
}

function only(findings, severity) {
  return findings.filter((finding) => finding.severity === severity).map(describe);
}

test('a small service within every limit has no findings', () => {
  const { findings, figures } = check({
    functions: [{ name: 'api', artifact: code, timeout: 10, events: [{ httpApi: 'GET /x' }] }],
  });
  assert.deepEqual(findings, []);
  assert.equal(figures.functions[0].unzippedBytes, 31);
  assert.equal(figures.resourceCount, 1);
});

test('a zip bomb layer fails the unzipped limit of every function using it, measured not unpacked', () => {
  const { file, unzippedBytes } = zips.writeZipBomb(path.join(dir, 'bomb.zip'));
  const { findings, figures } = check({
    functions: [{ name: 'worker', artifact: code, layers: [layerRef('deps')] }],
    layers: [{ name: 'deps', artifact: file }],
  });
  assert.equal(figures.functions[0].unzippedBytes, unzippedBytes + 31);
  assert.deepEqual(only(findings, 'error').map((text) => text.split(' Fix:')[0]), [
    `function worker: unzipped size (code + layers) is ${(unzippedBytes + 31).toLocaleString('en-US')} bytes, limit 262,144,000 bytes.`,
    `layer deps: unzipped size is ${unzippedBytes.toLocaleString('en-US')} bytes, limit 262,144,000 bytes.`,
  ]);
  assert.match(only(findings, 'error')[0], /Largest parts: bomb0\.bin 4\.0 MB/);
});

test('code and layers are added up: each under the limit, together over it', () => {
  const half = zips.writeZipBomb(path.join(dir, 'half.zip'), { chunkBytes: 4 * 1024 * 1024, copies: 32 });
  const { findings } = check({
    functions: [{ name: 'f', artifact: code, layers: [layerRef('a'), layerRef('b')] }],
    layers: [{ name: 'a', artifact: half.file }, { name: 'b', artifact: half.file }],
  });
  const errors = only(findings, 'error');
  assert.equal(errors.length, 1);
  assert.match(errors[0], /^function f: unzipped size \(code \+ layers\) is 268,435,487 bytes, limit 262,144,000 bytes/);
});

test('a package over 50 MB zipped fails with the size and the limit', () => {
  const big = zips.writeSparseZip(path.join(dir, 'big.zip'), 60 * 1024 * 1024);
  const { findings } = check({ functions: [{ name: 'fat', artifact: big }] });
  assert.deepEqual(only(findings, 'error').map((text) => text.split(' Fix:')[0]), [
    'function fat: zipped package size is 62,914,560 bytes, limit 52,428,800 bytes.',
  ]);
});

test('more than five layers fails', () => {
  const layers = ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => ({ name, artifact: code }));
  const { findings } = check({ functions: [{ name: 'f', artifact: code, layers: layers.map((l) => layerRef(l.name)) }], layers });
  assert.deepEqual(only(findings, 'error').map((text) => text.split(' Fix:')[0]), ['function f: layers is 6, limit 5.']);
});

test('environment variables past 4 KB fail; intrinsic values are estimated at their resolved length', () => {
  const { findings } = check({ functions: [{ name: 'f', artifact: code, environment: { BIG: 'v'.repeat(4100) } }] });
  assert.deepEqual(only(findings, 'error').map((text) => text.split(' Fix:')[0]), [
    'function f: environment variables is 4,110 bytes, limit 4,096 bytes.',
  ]);

  const refs = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`ARN_${i}`, { 'Fn::GetAtt': [`Q${i}`, 'Arn'] }]));
  const estimated = check({ functions: [{ name: 'g', artifact: code, environment: refs }] });
  assert.match(only(estimated.findings, 'error')[0], /^function g: environment variables \(estimated, resolved\) is 4,\d{3} bytes, limit 4,096 bytes/);
});

test('timeouts: 900 s at most, 29 s behind the HTTP API', () => {
  const { findings } = check({
    functions: [
      { name: 'long', artifact: code, timeout: 901 },
      { name: 'api', artifact: code, timeout: 30, events: [{ httpApi: { method: 'GET', path: '/' } }] },
      { name: 'rest', artifact: code, timeout: 29, events: [{ http: 'GET /' }] },
    ],
  });
  assert.deepEqual(only(findings, 'error').map((text) => text.split(' Fix:')[0]), [
    'function long: timeout is 901 s, limit 900 s.',
    'function api: timeout behind the HTTP API is 30 s, limit 29 s.',
  ]);
  assert.deepEqual(only(findings, 'warning').map((text) => text.split(' Fix:')[0]), [
    'function rest: timeout behind the HTTP API is 29 s, limit 29 s (budget 80%: 23 s).',
  ]);
});

test('memory must lie between 128 and 10,240 MB', () => {
  const { findings } = check({
    functions: [
      { name: 'tiny', artifact: code, memory: 64 },
      { name: 'huge', artifact: code, memory: 10241 },
      { name: 'fine', artifact: code, memory: 128 },
    ],
  });
  assert.deepEqual(only(findings, 'error').map((text) => text.split(' Fix:')[0]), [
    'function tiny: memory is 64 MB, limit 128 to 10240 MB.',
    'function huge: memory is 10241 MB, limit 128 to 10240 MB.',
  ]);
});

function sqsSpec(visibility, timeout, batchingWindow) {
  const queue = { Type: 'AWS::SQS::Queue', Properties: {} };
  if (visibility !== undefined) queue.Properties.VisibilityTimeout = visibility;
  const mapping = {
    Type: 'AWS::Lambda::EventSourceMapping',
    Properties: {
      EventSourceArn: { 'Fn::GetAtt': ['JobsQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['WorkerLambdaFunction', 'Arn'] },
    },
  };
  if (batchingWindow) mapping.Properties.MaximumBatchingWindowInSeconds = batchingWindow;
  return {
    functions: [{ name: 'worker', artifact: code, timeout }],
    resources: { JobsQueue: queue, WorkerEventSourceMappingSQSJobsQueue: mapping },
  };
}

test('SQS visibility timeout must be at least six times the consumer timeout; a batching window on top warns', () => {
  assert.deepEqual(check(sqsSpec(360, 60)).findings, []);
  assert.deepEqual(only(check(sqsSpec(359, 60)).findings, 'error').map((text) => text.split(' Fix:')[0]), [
    'function worker (queue JobsQueue): SQS visibility timeout is 359 s, limit at least 360 s (6 x timeout 60 s).',
  ]);
  // a batching window adds to AWS's guidance: a warning, not an error
  assert.deepEqual(only(check(sqsSpec(360, 60, 20)).findings, 'error'), []);
  assert.deepEqual(only(check(sqsSpec(360, 60, 20)).findings, 'warning').map((text) => text.split(' Fix:')[0]), [
    'function worker (queue JobsQueue): SQS visibility timeout is 360 s, limit at least 380 s (6 x timeout 60 s + batching window 20 s).',
  ]);
  assert.deepEqual(check(sqsSpec(380, 60, 20)).findings, []);
  // no VisibilityTimeout: SQS uses 30 s
  assert.match(only(check(sqsSpec(undefined, 6)).findings, 'error')[0], /visibility timeout is 30 s, limit at least 36 s/);
  assert.match(only(check(sqsSpec(300, 60)).findings, 'error')[0], /Fix: set the queue's VisibilityTimeout to 360 or more, or lower the function timeout to at most 50 s/);
});

test('more than 500 resources in the stack fails', () => {
  const resources = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`Topic${i}`, { Type: 'AWS::SNS::Topic' }]));
  const { findings, figures } = check({ functions: [{ name: 'f', artifact: code }], resources });
  assert.equal(figures.resourceCount, 501);
  assert.deepEqual(only(findings, 'error').map((text) => text.split(' Fix:')[0]), ['stack: resources is 501, limit 500.']);
});

test('inline IAM policies of a role are added up against 10,240 bytes', () => {
  const statement = (i) => ({ Effect: 'Allow', Action: ['s3:GetObject'], Resource: `arn:aws:s3:::bucket-${i}/${'k'.repeat(60)}/*` });
  const policy = (n) => ({ PolicyName: 'p', PolicyDocument: { Version: '2012-10-17', Statement: Array.from({ length: n }, (_, i) => statement(i)) } });
  const role = { Type: 'AWS::IAM::Role', Properties: { Policies: [policy(40), policy(40)] } };
  const small = { Type: 'AWS::IAM::Role', Properties: { Policies: [policy(2)] } };
  const { findings, figures } = check({ functions: [{ name: 'f', artifact: code }], resources: { BigRole: role, SmallRole: small } });
  const big = figures.roles.find((r) => r.role === 'BigRole');
  assert.equal(big.inlinePolicyBytes, 2 * Buffer.byteLength(JSON.stringify(policy(40).PolicyDocument)));
  assert.deepEqual(only(findings, 'error').map((text) => text.split(' is ')[0]), ['role BigRole: inline policy size']);
});

test('a figure past the budget warns, and the budget is configurable', () => {
  const spec = { functions: [{ name: 'f', artifact: code, timeout: 800 }] };
  assert.deepEqual(only(check(spec, 0.8).findings, 'warning').map((text) => text.split(' Fix:')[0]), [
    'function f: timeout is 800 s, limit 900 s (budget 80%: 720 s).',
  ]);
  assert.deepEqual(check(spec, 0.9).findings, []);
});

test('a missing layer and an unreadable package are errors naming the cause', () => {
  const broken = path.join(dir, 'broken.zip');
  fs.writeFileSync(broken, 'PK\u0003\u0004 a local header and then nothing useful');
  const { findings } = check({
    functions: [
      { name: 'a', artifact: code, layers: [{ Ref: 'GhostLambdaLayer' }] },
      { name: 'b', artifact: broken },
      { name: 'c', artifact: code, layers: [layerRef('deps')] },
    ],
    layers: [{ name: 'deps', artifact: path.join(dir, 'never-built.zip') }],
  });
  assert.deepEqual(only(findings, 'error'), [
    `layer deps: cannot read ${path.join(dir, 'never-built.zip')}: file does not exist`,
    'function a: uses layer GhostLambdaLayer, which is neither a layer of this service nor a resource of the template: declare it under layers: or fix the reference',
    `function b: cannot read ${broken}: no end-of-central-directory record (not a zip, or truncated)`,
  ]);
});

test('layers given by ARN count toward the five but are reported as unmeasured', () => {
  const { findings, figures } = check({
    functions: [{ name: 'f', artifact: code, layers: ['arn:aws:lambda:eu-west-1:123456789012:layer:x:3'] }],
  });
  assert.equal(figures.functions[0].layers.length, 1);
  assert.equal(figures.functions[0].unzippedComplete, false);
  assert.deepEqual(only(findings, 'warning').map((text) => text.split(' Fix:')[0]), [
    'function f: unzipped size is 1 layer(s) not measured, limit code + all layers <= 250 MB.',
  ]);
});
