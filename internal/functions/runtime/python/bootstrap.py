# wsgate's Python runtime client: loads a Lambda handler and serves it over the Lambda Runtime
# API (2018-06-01) at AWS_LAMBDA_RUNTIME_API, as the python3.* runtime images do on AWS.
#
# Handler: "module.function" ("pkg/module.function" or "pkg.module.function" too) relative to
# LAMBDA_TASK_ROOT. Errors go back in Lambda's shape: {errorMessage, errorType, requestId,
# stackTrace}. Standard library only.
import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
HANDLER = os.environ.get("_HANDLER", "")
HOST, PORT = API.rsplit(":", 1)

_conn = None
_request_id = None


def call(method, path, body=None, headers=None):
    global _conn
    h = {"Content-Type": "application/json"}
    if headers:
        h.update(headers)
    for attempt in range(2):
        if _conn is None:
            _conn = http.client.HTTPConnection(HOST, int(PORT))
        try:
            _conn.request(method, "/2018-06-01/runtime" + path, body=body, headers=h)
            resp = _conn.getresponse()
            data = resp.read()
            return resp.status, resp.headers, data
        except (http.client.HTTPException, ConnectionError):
            _conn.close()
            _conn = None
            if attempt == 1:
                raise


class LambdaContext:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)


class _LambdaFormatter(logging.Formatter):
    def format(self, record):
        t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + ".%03dZ" % (record.msecs,)
        return "[%s]\t%s\t%s\t%s" % (record.levelname, t, _request_id, record.getMessage())


def _setup_logging():
    h = logging.StreamHandler(sys.stdout)
    h.setFormatter(_LambdaFormatter())
    root = logging.getLogger()
    root.handlers = [h]
    root.setLevel(logging.WARNING)


def _error(exc, etype=None, stack=None):
    if stack is None:
        stack = traceback.format_list(traceback.extract_tb(exc.__traceback__)) if exc is not None else []
    return {
        "errorMessage": str(exc) if exc is not None else "",
        "errorType": etype or type(exc).__name__,
        "requestId": _request_id or "",
        "stackTrace": stack,
    }


def _init_error(obj):
    sys.stdout.write("[ERROR] %s: %s\n" % (obj["errorType"], obj["errorMessage"]))
    for line in obj.get("stackTrace") or []:
        sys.stdout.write(line if line.endswith("\n") else line + "\n")
    sys.stdout.flush()
    try:
        call("POST", "/init/error", json.dumps(obj), {"Lambda-Runtime-Function-Error-Type": obj["errorType"]})
    finally:
        sys.exit(1)


def load_handler():
    try:
        modname, fname = HANDLER.rsplit(".", 1)
    except ValueError as e:
        _init_error(_error(None, "Runtime.MalformedHandlerName", []) | {"errorMessage": "Bad handler '%s': %s" % (HANDLER, e)})
    modname = modname.replace("/", ".")
    if TASK_ROOT not in sys.path:
        sys.path.insert(0, TASK_ROOT)
    try:
        mod = importlib.import_module(modname)
    except SyntaxError as e:
        fname_ = os.path.basename(e.filename or modname + ".py")
        obj = _error(None, "Runtime.UserCodeSyntaxError", ['  File "%s" Line %s\n    %s\n' % (e.filename, e.lineno, (e.text or "").strip())])
        obj["errorMessage"] = "Syntax error in module '%s': %s (%s, line %s)" % (modname, e.msg, fname_, e.lineno)
        _init_error(obj)
    except ImportError as e:
        obj = _error(None, "Runtime.ImportModuleError", [])
        obj["errorMessage"] = "Unable to import module '%s': %s" % (modname, e)
        _init_error(obj)
    except Exception as e:
        _init_error(_error(e))
    fn = getattr(mod, fname, None)
    if not callable(fn):
        obj = _error(None, "Runtime.HandlerNotFound", [])
        obj["errorMessage"] = "Handler '%s' missing on module '%s'" % (fname, modname)
        _init_error(obj)
    return fn


def main():
    global _request_id
    _setup_logging()
    handler = load_handler()
    while True:
        status, headers, body = call("GET", "/invocation/next")
        if status != 200:
            sys.stderr.write("runtime API answered %d to /invocation/next: %r\n" % (status, body))
            sys.exit(1)
        _request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        trace = headers.get("Lambda-Runtime-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        rid = _request_id
        try:
            event = json.loads(body) if body else None
        except ValueError as e:
            obj = _error(e, "Runtime.UnmarshalError")
            call("POST", "/invocation/%s/error" % rid, json.dumps(obj), {"Lambda-Runtime-Function-Error-Type": obj["errorType"]})
            continue
        try:
            result = handler(event, LambdaContext(headers))
        except Exception as e:
            obj = _error(e)
            tb = "".join(obj["stackTrace"])
            sys.stdout.write("[ERROR] %s: %s\nTraceback (most recent call last):\n%s" % (obj["errorType"], obj["errorMessage"], tb))
            sys.stdout.flush()
            call("POST", "/invocation/%s/error" % rid, json.dumps(obj), {"Lambda-Runtime-Function-Error-Type": obj["errorType"]})
            continue
        try:
            out = json.dumps(result)
        except (TypeError, ValueError) as e:
            obj = _error(e, "Runtime.MarshalError")
            obj["errorMessage"] = "Unable to marshal response: %s" % e
            call("POST", "/invocation/%s/error" % rid, json.dumps(obj), {"Lambda-Runtime-Function-Error-Type": obj["errorType"]})
            continue
        sys.stdout.flush()
        call("POST", "/invocation/%s/response" % rid, out)


if __name__ == "__main__":
    main()
