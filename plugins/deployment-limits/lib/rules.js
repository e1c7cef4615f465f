'use strict';

// Compares measured figures with the limits. Every finding names the subject, the figure,
// its value, the limit and a fix; a finding is an error when the limit is broken and a
// warning when the figure is past the budget (a share of the limit).

const limits = require('./limits');
const { bytes, exactBytes } = require('./format');

function largestText(largest) {
  if (!largest || !largest.length) return '';
  return ` Largest parts: ${largest.map((part) => `${part.name} ${bytes(part.bytes)}`).join(', ')}.`;
}

class Findings {
  constructor(budget) {
    this.budget = budget;
    this.items = [];
  }

  add(severity, subject, figure, value, limit, fix) {
    this.items.push({ severity, subject, figure, value, limit, fix });
  }

  /** An upper limit: error above it, warning above budget x limit. */
  ceiling(subject, figure, value, limit, show, fix) {
    if (value === null || value === undefined) return;
    if (value > limit) this.add('error', subject, figure, show(value), show(limit), fix);
    else if (value > limit * this.budget) {
      this.add(
        'warning',
        subject,
        figure,
        show(value),
        `${show(limit)} (budget ${Math.round(this.budget * 100)}%: ${show(Math.floor(limit * this.budget))})`,
        fix
      );
    }
  }
}

const seconds = (value) => `${value} s`;
const megabytes = (value) => `${value} MB`;
const count = (value) => `${value}`;

function checkFunction(fn, findings) {
  const subject = `function ${fn.name}`;
  if (!fn.image) {
    findings.ceiling(
      subject,
      fn.unzippedComplete ? 'unzipped size (code + layers)' : 'unzipped size (code + measured layers)',
      fn.unzippedBytes,
      limits.UNZIPPED_BYTES,
      exactBytes,
      'exclude what the function does not need (package.patterns), move large dependencies ' +
        'out of the layer or split it by function, or ship the function as a container image ' +
        `(10 GB).${largestText(fn.largest)}`
    );
    findings.ceiling(
      subject,
      'zipped package size',
      fn.zippedBytes,
      limits.ZIPPED_BYTES,
      exactBytes,
      'keep dependencies in the layer and only the function code in its package ' +
        '(package.individually with package.patterns), or exclude tests and data files.' +
        largestText(fn.largest)
    );
  }
  findings.ceiling(
    subject,
    'layers',
    fn.layers.length,
    limits.LAYERS_PER_FUNCTION,
    count,
    'merge layers (one dependency layer per runtime), or bundle the extra code into the package'
  );
  findings.ceiling(
    subject,
    fn.environmentEstimated ? 'environment variables (estimated, resolved)' : 'environment variables',
    fn.environmentBytes,
    limits.ENVIRONMENT_BYTES,
    exactBytes,
    'move long values to SSM Parameter Store or Secrets Manager and pass their names, ' +
      'or drop provider-level variables this function does not read'
  );
  if (fn.http) {
    findings.ceiling(
      subject,
      'timeout behind the HTTP API',
      fn.timeout,
      limits.API_TIMEOUT_SECONDS,
      seconds,
      `API Gateway stops waiting after ${limits.API_TIMEOUT_SECONDS} s: lower timeout, and hand ` +
        'long work to a queue or Step Functions and answer 202 Accepted'
    );
  } else {
    findings.ceiling(
      subject,
      'timeout',
      fn.timeout,
      limits.TIMEOUT_SECONDS,
      seconds,
      'split the work into Step Functions steps or smaller batches; Lambda stops at 900 s'
    );
  }
  if (fn.timeout !== null && fn.timeout < 1) {
    findings.add('error', subject, 'timeout', seconds(fn.timeout), 'at least 1 s', 'set timeout to 1 s or more');
  }
  if (fn.memory < limits.MEMORY_MIN_MB || fn.memory > limits.MEMORY_MAX_MB) {
    findings.add(
      'error',
      subject,
      'memory',
      megabytes(fn.memory),
      `${limits.MEMORY_MIN_MB} to ${limits.MEMORY_MAX_MB} MB`,
      `set memorySize between ${limits.MEMORY_MIN_MB} and ${limits.MEMORY_MAX_MB} (MB)`
    );
  } else {
    findings.ceiling(subject, 'memory', fn.memory, limits.MEMORY_MAX_MB, megabytes, 'memory is near the Lambda maximum: profile, or split the work');
  }
}

function checkLayer(layer, findings) {
  const subject = `layer ${layer.name}`;
  findings.ceiling(
    subject,
    'unzipped size',
    layer.unzippedBytes,
    limits.UNZIPPED_BYTES,
    exactBytes,
    `split the layer or drop dependencies the functions do not import.${largestText(layer.largest)}`
  );
  findings.ceiling(
    subject,
    'zipped size',
    layer.zippedBytes,
    limits.ZIPPED_BYTES,
    exactBytes,
    `split the layer, or drop dependencies the functions do not import.${largestText(layer.largest)}`
  );
}

function checkQueue(queue, findings) {
  const subject = `function ${queue.function} (queue ${queue.queue})`;
  if (queue.functionTimeout === null) return;
  const factor = limits.SQS_VISIBILITY_FACTOR;
  const required = factor * queue.functionTimeout;
  const basis = `${factor} x timeout ${queue.functionTimeout} s`;
  if (queue.visibilityTimeout === null) {
    findings.add(
      'warning',
      subject,
      'SQS visibility timeout',
      'not a literal number',
      `at least ${required} s (${basis})`,
      'set VisibilityTimeout to a number so it can be checked before deploy'
    );
    return;
  }
  const shortfall = 'otherwise messages reappear while still being processed and are handled twice';
  if (queue.visibilityTimeout < required) {
    findings.add(
      'error',
      subject,
      'SQS visibility timeout',
      seconds(queue.visibilityTimeout),
      `at least ${required} s (${basis})`,
      `set the queue's VisibilityTimeout to ${required} or more, or lower the function timeout ` +
        `to at most ${Math.floor(queue.visibilityTimeout / factor)} s; ${shortfall}`
    );
    return;
  }
  // Lambda holds messages for up to the batching window before invoking, so AWS's guidance
  // with a window is six timeouts plus the window: short of that, warn.
  const withWindow = required + queue.batchingWindow;
  if (queue.batchingWindow && queue.visibilityTimeout < withWindow) {
    findings.add(
      'warning',
      subject,
      'SQS visibility timeout',
      seconds(queue.visibilityTimeout),
      `at least ${withWindow} s (${basis} + batching window ${queue.batchingWindow} s)`,
      `set the queue's VisibilityTimeout to ${withWindow} or more; ${shortfall}`
    );
  }
}

/**
 * @param {object} figures output of measure()
 * @param {number} budget share of each limit past which a warning is given (0 < budget <= 1)
 */
function evaluate(figures, budget = limits.DEFAULT_BUDGET) {
  const findings = new Findings(budget);
  for (const problem of figures.problems) {
    findings.items.push({ severity: 'error', subject: problem.subject, message: problem.message });
  }
  figures.functions.forEach((fn) => checkFunction(fn, findings));
  figures.layers.forEach((layer) => checkLayer(layer, findings));
  figures.queues.forEach((queue) => checkQueue(queue, findings));
  findings.ceiling(
    'stack',
    'resources',
    figures.resourceCount,
    limits.RESOURCES_PER_STACK,
    count,
    'split the service into stacks (a second service, or nested stacks), or remove unused resources'
  );
  for (const role of figures.roles) {
    findings.ceiling(
      `role ${role.role}`,
      role.estimated ? 'inline policy size (estimated, resolved)' : 'inline policy size',
      role.inlinePolicyBytes,
      limits.ROLE_INLINE_POLICY_BYTES,
      exactBytes,
      'merge statements that share actions, list resource families with wildcards, or move ' +
        'statements into a customer managed policy (AWS::IAM::ManagedPolicy, 6,144 characters each)'
    );
  }
  for (const fn of figures.functions) {
    const external = fn.layers.filter((layer) => layer.external);
    if (external.length) {
      findings.add(
        'warning',
        `function ${fn.name}`,
        'unzipped size',
        `${external.length} layer(s) not measured`,
        'code + all layers <= 250 MB',
        `the unzipped total excludes ${external.map((layer) => layer.name).join(', ')}: check their sizes`
      );
    }
  }
  return findings.items;
}

function describe(finding) {
  if (finding.message) return `${finding.subject}: ${finding.message}`;
  return `${finding.subject}: ${finding.figure} is ${finding.value}, limit ${finding.limit}. Fix: ${finding.fix}`;
}

module.exports = { evaluate, describe };
