"""`maas-local`: run the embedded MaaS in the foreground and get identities from it.

`up` is for people (and for the suite, which reads `--ready-file`); `token` is the `oc whoami -t`
of the embedded stack; `faults` lists the defects `up --fault NAME` can start the stack with, so
the suite can prove it notices them; `cluster up` runs a node-less Kubernetes cluster from the
pinned upstream builds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from maas_local import faults
from maas_local.config import ManifestError, StackConfig, load_config
from maas_local.servers import PortInUseError, ServerGroup

DEFAULT_GATEWAY_PORT = 8080
DEFAULT_API_PORT = 6443
DEFAULT_API_URL = f"http://127.0.0.1:{DEFAULT_API_PORT}"
MANIFESTS_ENV = "MAAS_LOCAL_MANIFESTS"


def default_manifests() -> Path:
    """`manifests/e2e` of the working directory, else of the checkout this package lives in."""
    if os.environ.get(MANIFESTS_ENV):
        return Path(os.environ[MANIFESTS_ENV])
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (root / "manifests" / "e2e" / "kustomization.yaml").is_file():
            return root / "manifests" / "e2e"
    return Path("manifests/e2e")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maas-local", description="An embedded Models-as-a-Service stack on loopback."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="serve the stack in the foreground until Ctrl-C")
    up.add_argument("--port", type=int, default=DEFAULT_GATEWAY_PORT, help="gateway port (0: any)")
    up.add_argument(
        "--api-port", type=int, default=DEFAULT_API_PORT, help="API server port (0: any)"
    )
    up.add_argument(
        "--manifests",
        type=Path,
        default=None,
        help=f"kustomize overlay or rendered YAML (default: manifests/e2e; env {MANIFESTS_ENV})",
    )
    up.add_argument(
        "--ready-file",
        type=Path,
        help="write the components' URLs here as JSON once every server is listening",
    )
    up.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="start with this defect from `maas-local faults` (repeatable)",
    )

    sub.add_parser("faults", help="list the faults `up --fault` accepts and what each breaks")

    cluster = sub.add_parser(
        "cluster", help="a node-less Kubernetes cluster from the pinned upstream builds"
    )
    cluster_sub = cluster.add_subparsers(dest="cluster_command", required=True)
    cluster_up = cluster_sub.add_parser(
        "up", help="run etcd, kube-apiserver and kube-controller-manager until Ctrl-C"
    )
    cluster_up.add_argument(
        "--kubeconfig-out",
        type=Path,
        help="write the admin kubeconfig here once everything answers",
    )
    cluster_up.add_argument(
        "--api-port", type=int, default=0, help="the API server's port (default: any free one)"
    )
    cluster_up.add_argument(
        "--gateway-port",
        type=int,
        default=80,
        help="the gateway's port on 127.0.0.1 (default 80, the Gateway listener's port)",
    )
    for flag, env, what in (
        ("--maas-api-binary", "MAAS_LOCAL_MAAS_API_BINARY", "maas-api"),
        ("--simulator-binary", "MAAS_LOCAL_SIMULATOR_BINARY", "llm-d-inference-sim"),
    ):
        cluster_up.add_argument(
            flag,
            type=Path,
            default=Path(os.environ[env]) if os.environ.get(env) else None,
            help=f"run this build of the real {what} instead of the embedded one (env {env})",
        )

    token = sub.add_parser("token", help="print a cluster identity token, like `oc whoami -t`")
    token.add_argument("user", help="user name")
    token.add_argument(
        "--group", action="append", default=[], help="a group of the user (repeatable)"
    )
    token.add_argument(
        "--url", default=DEFAULT_API_URL, help=f"the stack's API server (default {DEFAULT_API_URL})"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "up":
        return _up(args)
    if args.command == "faults":
        print("\n".join(faults.describe()))
        return 0
    if args.command == "cluster":
        from maas_local.cluster.real_components import RealBinaries
        from maas_local.cluster.up import run  # the control plane's imports only when asked

        real = RealBinaries(args.maas_api_binary, args.simulator_binary)
        return run(args.kubeconfig_out, args.api_port, args.gateway_port, real)
    return _token(args)


def _fail(message: str) -> int:
    print(f"maas-local: {message}", file=sys.stderr)
    return 2


def _up(args: argparse.Namespace) -> int:
    try:
        active = faults.validate(args.fault)
    except faults.UnknownFault as exc:
        return _fail(str(exc))
    from maas_local.stack import assemble  # the servers' imports only when serving

    manifests = args.manifests or default_manifests()
    try:
        config = load_config(manifests, faults=active)
        group, urls = assemble(config, args.port, args.api_port)
    except ManifestError as exc:
        return _fail(f"bad manifests: {exc}")
    except PortInUseError as exc:
        return _fail(str(exc))

    def announce() -> None:
        if args.ready_file:
            _write_atomically(
                args.ready_file,
                {
                    **urls.describe(),
                    "pid": os.getpid(),
                    "manifests": str(manifests),
                    "faults": sorted(config.faults),
                },
            )
        print(_banner(config, manifests, urls.gateway, urls.apiserver), flush=True)

    asyncio.run(_serve_foreground(group, announce))
    return 0


async def _serve_foreground(group: ServerGroup, on_ready: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, group.stop)
    serving = asyncio.ensure_future(group.serve())
    while not serving.done() and not group.started:
        await asyncio.sleep(0.005)
    if group.started:
        on_ready()
    await serving


def _write_atomically(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


def _banner(config: StackConfig, manifests: Path, gateway: str, apiserver: str) -> str:
    example_group = next((g for g in config.tiers[-1].groups if not g.startswith("system:")), "")
    limits = ", ".join(
        f"{t}: {lim.limit} req/{lim.window_seconds}s" for t, lim in config.request_limits.items()
    )
    group_flag = f" --group {example_group}" if example_group else ""
    # Catalogue order, so the same faults always read the same way.
    active = [name for name in faults.CATALOGUE if name in config.faults]
    fault_lines = [f"  FAULTS      {name}: {faults.CATALOGUE[name]}" for name in active]
    return "\n".join(
        [
            f"maas-local is serving MaaS from {manifests}",
            f"  gateway     {gateway}",
            f"  API server  {apiserver}",
            f"  tiers       {', '.join(t.name for t in config.tiers)} ({limits})",
            f"  models      {', '.join(f'{m.namespace}/{m.name}' for m in config.models)}",
            *fault_lines,
            "",
            "Use it like a cluster in the manual check (docs/contract.md), with:",
            f"  HOST={gateway}",
            f"  maas-local token alice --url {apiserver}            # instead of `oc whoami -t`",
            f"  maas-local token bob{group_flag} --url {apiserver}",
            "Ctrl-C stops it.",
        ]
    )


def _token(args: argparse.Namespace) -> int:
    url = f"{args.url.rstrip('/')}/local/v1/users/{args.user}/token"
    try:
        resp = httpx.post(url, json={"groups": args.group}, timeout=5)
    except httpx.HTTPError as exc:
        return _fail(
            f"cannot reach the stack's API server at {args.url}: {exc}; is `maas-local up` running?"
        )
    if resp.status_code != 201:
        return _fail(f"{url} answered {resp.status_code}: {resp.text.strip()}")
    print(resp.json()["token"])
    return 0
