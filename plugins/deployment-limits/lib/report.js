'use strict';

// The table `sls package` prints: one row per function and layer, the stack-wide figures,
// and every finding below it.

const limits = require('./limits');
const { bytes, percent } = require('./format');
const { describe } = require('./rules');

function pad(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  return rows.map((row) => row.map((cell, column) => String(cell).padEnd(widths[column])).join('  ').trimEnd());
}

function sized(value, limit) {
  return value === null || value === undefined ? '?' : `${bytes(value)} ${percent(value, limit)}`;
}

function statusOf(subject, findings) {
  const own = findings.filter((finding) => finding.subject === subject || finding.subject.startsWith(`${subject} (`));
  if (own.some((finding) => finding.severity === 'error')) return 'FAIL';
  if (own.some((finding) => finding.severity === 'warning')) return 'warn';
  return 'ok';
}

function renderTable(figures, findings, budget) {
  const rows = [['function', 'zipped', 'unzipped+layers', 'layers', 'env', 'timeout', 'memory', 'status']];
  for (const fn of figures.functions) {
    rows.push([
      fn.name,
      fn.image ? 'image' : sized(fn.zippedBytes, limits.ZIPPED_BYTES),
      fn.image ? 'image' : `${fn.unzippedComplete ? '' : '>='}${sized(fn.unzippedBytes, limits.UNZIPPED_BYTES)}`,
      `${fn.layers.length}/${limits.LAYERS_PER_FUNCTION}`,
      `${fn.environmentEstimated ? '~' : ''}${sized(fn.environmentBytes, limits.ENVIRONMENT_BYTES)}`,
      `${fn.timeout}/${fn.http ? limits.API_TIMEOUT_SECONDS : limits.TIMEOUT_SECONDS} s`,
      `${fn.memory} MB`,
      statusOf(`function ${fn.name}`, findings),
    ]);
  }
  for (const layer of figures.layers) {
    rows.push([
      `layer:${layer.name}`,
      sized(layer.zippedBytes, limits.ZIPPED_BYTES),
      sized(layer.unzippedBytes, limits.UNZIPPED_BYTES),
      '', '', '', '',
      statusOf(`layer ${layer.name}`, findings),
    ]);
  }
  const lines = ['Deployment limits', ...pad(rows)];
  if (figures.resourceCount !== null) {
    lines.push(`stack resources: ${figures.resourceCount}/${limits.RESOURCES_PER_STACK}`);
  }
  if (figures.roles.length) {
    const largest = [...figures.roles].sort((a, b) => b.inlinePolicyBytes - a.inlinePolicyBytes)[0];
    lines.push(
      `largest inline IAM policy: ${largest.role} ${largest.estimated ? '~' : ''}${largest.inlinePolicyBytes}/` +
        `${limits.ROLE_INLINE_POLICY_BYTES} bytes (${figures.roles.length} roles)`
    );
  }
  for (const queue of figures.queues) {
    const needed = limits.SQS_VISIBILITY_FACTOR * queue.functionTimeout;
    lines.push(
      `queue ${queue.queue} -> ${queue.function}: visibility ${queue.visibilityTimeout ?? '?'} s, ` +
        `needs >= ${needed} s (${limits.SQS_VISIBILITY_FACTOR} x ${queue.functionTimeout} s)` +
        (queue.batchingWindow ? `, ${needed + queue.batchingWindow} s with the batching window` : '')
    );
  }
  lines.push(`budget: warn past ${Math.round(budget * 100)}% of a limit (custom.deploymentLimits.budget)`);
  for (const finding of findings) {
    lines.push(`${finding.severity === 'error' ? 'ERROR' : 'WARNING'} ${describe(finding)}`);
  }
  return lines.join('\n');
}

module.exports = { renderTable };
