"""`maas-local cluster up`: the node-less cluster in the foreground until Ctrl-C.

The kubeconfig is written only once everything answers, so a script may wait for the file.
Ctrl-C (or SIGTERM) stops every process and removes the cluster's data: nothing is left running
and no port stays taken. A component that dies meanwhile stops the rest and says which it was.
"""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from maas_local.apiserver_connection import ApiServerConnection
from maas_local.cluster.controllers import Context, StatusWriters
from maas_local.cluster.controlplane import ControlPlane, NotStarted, port_is_free
from maas_local.cluster.dataplane import DataPlane
from maas_local.cluster.processes import ComponentDied
from maas_local.cluster.real_components import RealBinaries
from maas_local.cluster.upstream import UpstreamMissing, locate
from maas_local.servers import PortInUseError, bind

WATCH_INTERVAL_S = 1.0
# Where the Gateway's status says the data plane listens.
GATEWAY_ADDRESS = "127.0.0.1"
GATEWAY_PORT = 80


def run(
    kubeconfig_out: Path | None,
    api_port: int,
    gateway_port: int = GATEWAY_PORT,
    real: RealBinaries | None = None,
) -> int:
    real = real or RealBinaries()
    try:
        upstream = locate()
        real.check()
    except (UpstreamMissing, FileNotFoundError) as exc:
        return _fail(str(exc))
    if api_port and not port_is_free(api_port):
        return _fail(
            f"port {api_port} on 127.0.0.1 is already in use; pick another with --api-port"
        )
    try:
        bind(gateway_port, GATEWAY_ADDRESS).close()
    except (PortInUseError, PermissionError) as exc:
        return _fail(
            f"the gateway cannot listen on {GATEWAY_ADDRESS}:{gateway_port} (the Gateway "
            f"listener's port): {exc}; run as root for port 80, or pick another with "
            "--gateway-port and give the suite --maas-gateway-url"
        )
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    workdir = Path(tempfile.mkdtemp(prefix="maas-local-cluster-"))
    plane = ControlPlane(upstream, workdir, api_port=api_port)
    writers: StatusWriters | None = None
    dataplane: DataPlane | None = None
    try:
        try:
            endpoints = plane.start()
        except (NotStarted, ComponentDied) as exc:
            return _fail(str(exc))
        writers = StatusWriters(endpoints.client, Context(gateway_address=GATEWAY_ADDRESS))
        writers.start()
        connection = ApiServerConnection(
            endpoints.api_url, endpoints.admin_token, endpoints.ca_cert
        )
        dataplane = DataPlane(
            endpoints.client, connection, workdir, gateway_port=gateway_port, real=real
        )
        dataplane.start()
        kubeconfig = kubeconfig_out or workdir / "admin.kubeconfig"
        if kubeconfig_out:
            kubeconfig_out.write_text(endpoints.kubeconfig(), encoding="utf-8")
            kubeconfig_out.chmod(0o600)
        versions = upstream.versions
        print(
            f"maas-local cluster is serving Kubernetes {versions.get('kubernetes')} "
            f"(etcd {versions.get('etcd')})\n"
            f"  API server  {endpoints.api_url}\n"
            f"  gateway     http://{GATEWAY_ADDRESS}:{gateway_port} (serves what is deployed)\n"
            f"  maas-api    {real.maas_api or 'embedded'}\n"
            f"  models      {real.simulator or 'embedded simulator'}\n"
            f"  kubeconfig  {kubeconfig}\n"
            f"  logs        {workdir / 'logs'}\n"
            f"  KUBECONFIG={kubeconfig} kubectl version\n"
            "Ctrl-C stops it.",
            flush=True,
        )
        while not stop.wait(WATCH_INTERVAL_S):
            try:
                plane.supervisor.check()
                dataplane.check()
            except ComponentDied as exc:
                return _fail(str(exc))
        return 0
    finally:
        if dataplane is not None:
            dataplane.stop()
        if writers is not None:
            writers.stop()
        plane.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _fail(message: str) -> int:
    print(f"maas-local cluster: {message}", file=sys.stderr)
    return 2
