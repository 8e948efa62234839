// wsgate's Node.js runtime client: loads a Lambda handler and serves it over the Lambda Runtime
// API (2018-06-01) at AWS_LAMBDA_RUNTIME_API, as the nodejs runtime images do on AWS.
//
// Handler: "dir/file.fn" relative to LAMBDA_TASK_ROOT; file.mjs, file.cjs or file.js (ES module
// when the nearest package.json says "type": "module"); fn may be nested ("file.a.b"). Async,
// promise-returning and callback handlers; the context object of the Lambda Node.js runtime.
// Errors go back in Lambda's shape: {errorType, errorMessage, trace}.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const api = process.env.AWS_LAMBDA_RUNTIME_API;
const [apiHost, apiPort] = api.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const taskRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
const handlerName = process.env._HANDLER || '';

let currentRequestId = undefined;

function call(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: apiHost, port: apiPort, method, path: '/2018-06-01/runtime' + p, agent,
      headers: Object.assign({ 'Content-Type': 'application/json' }, headers || {}) }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// Console output in the Lambda Node.js runtime's format: time, request id, level, message.
function patchConsole() {
  const write = (level) => (...args) => {
    const msg = util.format(...args);
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId === undefined ? 'undefined' : currentRequestId}\t${level}\t${msg}\n`);
  };
  console.log = write('INFO');
  console.info = write('INFO');
  console.warn = write('WARN');
  console.error = write('ERROR');
  console.debug = write('DEBUG');
  console.trace = write('TRACE');
}

function errorObject(err, type) {
  if (err instanceof Error) {
    return {
      errorType: type || err.name || 'Error',
      errorMessage: err.message,
      trace: typeof err.stack === 'string' ? err.stack.split('\n') : [],
    };
  }
  let message;
  try { message = typeof err === 'string' ? err : JSON.stringify(err); } catch { message = String(err); }
  return { errorType: type || typeof err, errorMessage: message === undefined ? String(err) : message, trace: [] };
}

class UserCodeError extends Error {
  constructor(type, message, cause) {
    super(message);
    this.name = type;
    if (cause && typeof cause.stack === 'string') this.stack = `${type}: ${message}\n${cause.stack}`;
  }
}

function nearestModuleType(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    const pj = path.join(d, 'package.json');
    if (fs.existsSync(pj)) {
      try { return JSON.parse(fs.readFileSync(pj, 'utf8')).type || 'commonjs'; } catch { return 'commonjs'; }
    }
    if (d === path.dirname(d) || d === path.dirname(taskRoot)) return 'commonjs';
  }
}

async function loadHandler() {
  const slash = handlerName.lastIndexOf('/');
  const dir = slash >= 0 ? handlerName.slice(0, slash) : '';
  const rest = slash >= 0 ? handlerName.slice(slash + 1) : handlerName;
  const dot = rest.indexOf('.');
  if (dot <= 0 || dot === rest.length - 1) {
    throw new UserCodeError('Runtime.MalformedHandlerName', `Bad handler ${handlerName}`);
  }
  const moduleName = rest.slice(0, dot);
  const fnPath = rest.slice(dot + 1).split('.');
  const base = path.resolve(taskRoot, dir, moduleName);
  let file;
  for (const ext of ['.js', '.mjs', '.cjs']) {
    if (fs.existsSync(base + ext)) { file = base + ext; break; }
  }
  if (!file) {
    throw new UserCodeError('Runtime.ImportModuleError',
      `Error: Cannot find module '${path.join(dir, moduleName)}'\nRequire stack:\n- ${process.argv[1]}`);
  }
  let mod;
  try {
    const esm = file.endsWith('.mjs') || (file.endsWith('.js') && nearestModuleType(path.dirname(file)) === 'module');
    if (esm) {
      mod = await import(pathToFileURL(file).href);
    } else {
      mod = createRequire(file)(file);
    }
  } catch (err) {
    if (err instanceof SyntaxError) {
      throw new UserCodeError('Runtime.UserCodeSyntaxError', `${err.name}: ${err.message}`, err);
    }
    if (err && (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new UserCodeError('Runtime.ImportModuleError', `Error: ${err.message}`, err);
    }
    throw err;
  }
  let fn = mod;
  for (const k of fnPath) {
    fn = fn == null ? undefined : fn[k];
  }
  if (fn === undefined && mod && mod.default) {
    fn = mod.default;
    for (const k of fnPath) fn = fn == null ? undefined : fn[k];
  }
  if (typeof fn !== 'function') {
    throw new UserCodeError('Runtime.HandlerNotFound', `${path.join(dir, moduleName)}.${fnPath.join('.')} is undefined or not exported`);
  }
  return fn;
}

function makeContext(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const ctx = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: undefined,
    clientContext: undefined,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
  if (headers['lambda-runtime-cognito-identity']) {
    try { ctx.identity = JSON.parse(headers['lambda-runtime-cognito-identity']); } catch { /* ignored */ }
  }
  if (headers['lambda-runtime-client-context']) {
    try { ctx.clientContext = JSON.parse(headers['lambda-runtime-client-context']); } catch { /* ignored */ }
  }
  return ctx;
}

// run calls the handler and settles with its result: the promise it returns, or the callback
// (or the legacy context.succeed/fail/done), whichever comes first.
function run(handler, event, ctx) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err, value) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err); else resolve(value);
    };
    const callback = (err, value) => settle(err, value);
    ctx.done = callback;
    ctx.succeed = (value) => settle(null, value);
    ctx.fail = (err) => settle(err === undefined || err === null ? new Error('handled') : err);
    let out;
    try {
      out = handler(event, ctx, callback);
    } catch (err) {
      settle(err);
      return;
    }
    if (out && typeof out.then === 'function') {
      out.then((v) => settle(null, v), (e) => settle(e === undefined || e === null ? new Error(String(e)) : e));
    } else if (handler.length < 3) {
      // Neither a promise nor a callback: Lambda answers null once the event loop is empty.
      setImmediate(() => settle(null, null));
    }
  });
}

async function postError(id, err, type) {
  const obj = errorObject(err, type);
  await call('POST', `/invocation/${id}/error`, JSON.stringify(obj), { 'Lambda-Runtime-Function-Error-Type': obj.errorType });
}

function fatal(type) {
  return async (err) => {
    const obj = errorObject(err, type);
    process.stderr.write(`${new Date().toISOString()}\t${currentRequestId}\tERROR\t${type === undefined ? 'Uncaught Exception' : 'Unhandled Promise Rejection'} \t${JSON.stringify(obj)}\n`);
    if (currentRequestId !== undefined) {
      try { await postError(currentRequestId, err, type); } catch { /* the process exits anyway */ }
    }
    process.exit(129);
  };
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    const obj = errorObject(err, err instanceof UserCodeError ? err.name : undefined);
    process.stderr.write(`${new Date().toISOString()}\tundefined\tERROR\tUncaught Exception \t${JSON.stringify(obj)}\n`);
    try {
      await call('POST', '/init/error', JSON.stringify(obj), { 'Lambda-Runtime-Function-Error-Type': obj.errorType });
    } catch { /* exit anyway */ }
    process.exit(129);
  }
  process.on('uncaughtException', fatal(undefined));
  process.on('unhandledRejection', fatal('Runtime.UnhandledPromiseRejection'));
  for (;;) {
    const next = await call('GET', '/invocation/next');
    if (next.status !== 200) {
      process.stderr.write(`runtime API answered ${next.status} to /invocation/next: ${next.body}\n`);
      process.exit(1);
    }
    const id = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = id;
    if (next.headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;
    let event;
    try {
      event = JSON.parse(next.body);
    } catch (err) {
      await postError(id, err, 'Runtime.UnmarshalError');
      continue;
    }
    const ctx = makeContext(next.headers);
    let value;
    try {
      value = await run(handler, event, ctx);
    } catch (err) {
      await postError(id, err);
      continue;
    }
    let body;
    try {
      body = JSON.stringify(value === undefined ? null : value);
    } catch (err) {
      await postError(id, err, 'Runtime.MarshalError');
      continue;
    }
    await call('POST', `/invocation/${id}/response`, body);
  }
}

main().catch((err) => {
  process.stderr.write(`wsgate node runtime: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
