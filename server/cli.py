"""`standin serve` and `standin contract`: the command line."""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import socket
import sys
from importlib.metadata import PackageNotFoundError, version

from server.app import API_NAMES

try:
    __version__ = version("standin")
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "unknown"


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(text)


def _latency(text: str) -> str:
    from server.rules import Delay

    try:
        Delay.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def serve(args) -> int:
    import uvicorn

    from server import fastpath, persistence
    from server.app import create_app

    if fastpath.enabled():
        try:
            fastpath.check_versions()
        except fastpath.UntestedVersion as e:
            print(f"standin: {e}", file=sys.stderr)
            return 2
    names = [args.api] if args.api else API_NAMES
    app = create_app(
        names,
        seed=args.seed,
        root=bool(args.api),
        scale=args.scale,
        rate_limit=args.rate_limit,
        keep_answers=not args.fresh_answers,
        journal=args.journal,
        latency=args.latency,
        admin_token=_admin_token(args),
    )
    try:  # bound once the app is built: until then a client is refused, not kept waiting
        sock = _bind(args.host, args.port)
    except OSError as e:
        print(f"standin: cannot listen on {args.host}:{args.port}: {e.strerror or e}", file=sys.stderr)
        return 2
    try:  # a state file that can't be used is refused whole, before anything is served
        state = persistence.StateFile.open(app.runtime, args.state) if args.state else None
    except persistence.StateError as e:
        print(f"standin: {e}", file=sys.stderr)
        return 2
    _banner(app, f"http://{args.host}:{args.port}", args.seed, app.admin_token)
    if app.engine.freeze_collector:
        fastpath.hold_collector(app.runtime)
    # The standard event loop answers queued requests in the order they came; uvloop does not,
    # which showed as a tail several times longer at the same CPU per request (docs/performance.md).
    config = uvicorn.Config(
        app,
        log_level=args.log_level,
        access_log=False,
        loop="asyncio",
        http=app.engine.protocol,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        if state is not None:
            state.close()  # the last save, after the last request
    return 0


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything claims to serve on it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _admin_token(args) -> str | None:
    """The control API's token: --admin-token, else one made up when Standin listens beyond
    this machine (anyone on the network could otherwise reset it); printed in the banner."""
    if args.admin_token:
        return args.admin_token
    try:
        local = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        local = False
    return None if local else secrets.token_urlsafe(18)


def _banner(app, base: str, seed: int, admin_token: str | None = None) -> None:
    print(f"Standin {__version__} on {base}  (seed {seed}; control API {base}/_standin/apis)")
    if admin_token:
        print(f"  control API changes need the header  X-Standin-Admin-Token: {admin_token}")
    for api in app.runtime.apis:
        prefix = app.runtime.prefixes[api.name]
        print(f"  {api.title:<28} {base}{prefix or '/'}   docs: {base}/_standin/docs/{api.name}")
        for key, value in api.demo.items():
            if isinstance(value, dict):
                print(f"      {key}:")
                for name, v in value.items():
                    print(f"          {name}: {v}")
            else:
                print(f"      {key}: {value}")
    sys.stdout.flush()


def contract(args) -> int:
    from contract_tests.runner import run

    return run(
        args.api,
        args.base_url,
        args.header,
        args.allow_writes,
        args.max_examples,
        args.seed,
        args.junit,
        args.report,
        rate_limit=args.rate_limit,
        allow_unexercised=args.allow_unexercised,
        phases=args.phases,
    )


def proxy(args) -> int:
    from contract_tests.proxy import run_proxy

    return run_proxy(args.api, args.upstream, args.host, args.port, args.report)


def validate(args) -> int:
    from contract_tests.har import validate_har

    return validate_har(args.api, args.har, args.base_url, args.report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="standin", description=__doc__)
    parser.add_argument("--version", action="version", version=f"standin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="serve every API (or one, at the root) with seeded state")
    p.add_argument(
        "--host", default=os.environ.get("STANDIN_HOST", "127.0.0.1"), help="$STANDIN_HOST or 127.0.0.1"
    )
    p.add_argument(
        "--port", type=int, default=os.environ.get("STANDIN_PORT", 8000), help="$STANDIN_PORT or 8000"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--api", choices=API_NAMES, help="serve this one API at the root, with the vendor's exact paths"
    )
    p.add_argument("--scale", type=int, default=1, help="multiply the fixture volume")
    p.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        help="requests per minute per client of each API with a documented limit (Resource Guru); 0: off",
    )
    p.add_argument(
        "--journal", type=_count, default=1000, help="exchanges kept by GET /_standin/requests (0: none)"
    )
    p.add_argument(
        "--latency", type=_latency, help="delay every vendor answer: MS or MIN-MAX milliseconds (uniform)"
    )
    p.add_argument(
        "--admin-token",
        default=os.environ.get("STANDIN_ADMIN_TOKEN"),
        help="required (X-Standin-Admin-Token) by control API changes; made up when --host is not loopback",
    )
    p.add_argument(
        "--fresh-answers",
        action="store_true",
        help="answer every read afresh, never from a kept answer (to measure the handlers themselves)",
    )
    p.add_argument(
        "--state",
        metavar="FILE",
        help="load FILE at start if it exists; save the state to it within seconds of a write and at exit",
    )
    p.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        help="uvicorn's and Standin's log level (default warning; info logs start-up and shutdown)",
    )
    p.set_defaults(func=serve)
    c = sub.add_parser("contract", help="check a server (default: Standin in-process) against an API's spec")
    c.add_argument("--api", required=True, choices=API_NAMES)
    c.add_argument("--base-url", help="the server to check, e.g. http://127.0.0.1:8000/productive")
    c.add_argument("--header", action="append", default=[], help="'Name: value', repeatable (credentials)")
    c.add_argument(
        "--allow-writes", action="store_true", help="also run POST/PUT/PATCH/DELETE against --base-url"
    )
    c.add_argument("--max-examples", type=int, default=25)
    c.add_argument("--seed", type=int, help="reproduce a run (default: a random seed, printed)")
    c.add_argument(
        "--rate-limit",
        type=int,
        help="requests per minute the run sends (default: the vendor's documented limit; 0: no limit)",
    )
    c.add_argument(
        "--phases",
        default="examples,coverage,fuzzing,stateful",
        help="schemathesis phases to run (coverage sends the most requests: drop it against a tight rate limit)",
    )
    c.add_argument(
        "--allow-unexercised",
        action="store_true",
        help="exit 0 even if some operation never got a documented success answer",
    )
    c.add_argument("--junit", help="JUnit XML path (default reports/<api>/junit.xml)")
    c.add_argument("--report", help="report directory (default reports/<api>); HTML in <dir>/html")
    c.set_defaults(func=contract)
    x = sub.add_parser("proxy", help="forward traffic to a deployment, validating every exchange")
    x.add_argument("--api", required=True, choices=API_NAMES)
    x.add_argument("--upstream", required=True, help="the API's root, e.g. https://api.productive.io")
    x.add_argument("--host", default="127.0.0.1")
    x.add_argument("--port", type=int, default=4010)
    x.add_argument("--report", help="report directory, written on exit (default reports/<api>/proxy)")
    x.set_defaults(func=proxy)
    v = sub.add_parser("validate", help="check recorded traffic (a HAR 1.2 file) against an API's spec")
    v.add_argument("--api", required=True, choices=API_NAMES)
    v.add_argument("har", help="the HAR file (browser devtools, a proxy's recording)")
    v.add_argument("--base-url", help="keep only entries under this URL, read relative to it")
    v.add_argument("--report", help="report directory (default reports/<api>/validate)")
    v.set_defaults(func=validate)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
