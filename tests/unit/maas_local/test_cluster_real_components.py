"""Running real upstream builds as `maas-local cluster`'s maas-api and models.

The builds themselves cannot be made here (their Go modules are refused by the proxy), so the
process handling is proven with a stand-in executable: started with the manifest's arguments and
environment, waited for until it answers, and reported with its log when it dies or never does.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
import yaml

from maas_local.apiserver_connection import ApiServerConnection
from maas_local.cli import build_parser
from maas_local.cluster import real_components
from maas_local.cluster.controlplane import free_port
from maas_local.cluster.processes import Supervisor
from maas_local.cluster.real_components import NotReady, RealBinaries
from maas_local.config import load_config
from maas_local.config.model import ModelSpec

# Answers /health on the port after `--port`, once it has written its argv and environment.
SERVER = """\
import http.server, json, os, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
with open(os.environ.get("RECORD", os.devnull), "w") as out:
    json.dump({"argv": sys.argv[1:], "env": dict(os.environ)}, out)
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
"""


def _executable(path: Path, body: str) -> Path:
    path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _spec(*args: str) -> ModelSpec:
    return ModelSpec("llm", "sim", "sim", "random", created=0, args=args)


def test_a_model_runs_with_its_containers_arguments_but_its_own_port_and_no_tls_files() -> None:
    spec = _spec(
        "--port", "8000", "--model", "m", "--mode", "echo",
        "--ssl-certfile", "/etc/tls.crt", "--ssl-keyfile=/etc/tls.key", "--max-model-len", "64",
    )  # fmt: skip
    argv = real_components.simulator_argv(Path("/bin/sim"), spec, 4321)
    assert argv == [
        "/bin/sim", "--model", "m", "--mode", "echo", "--max-model-len", "64", "--port", "4321",
    ]  # fmt: skip


def test_the_manifests_give_the_model_its_arguments_and_maas_api_its_environment() -> None:
    config = load_config("manifests/e2e")
    model = next(m for m in config.models if m.name == "facebook-opt-125m-simulated")
    assert model.args[model.args.index("--model") + 1] == model.served_model_name
    # The Deployment's literal entries; NAMESPACE comes from a fieldRef, filled in at start.
    assert config.maas_api_env["PROVIDER"] == "sa-tokens"
    assert "NAMESPACE" not in config.maas_api_env


def test_maas_api_gets_its_deployments_environment_namespace_port_and_kubeconfig(
    tmp_path: Path,
) -> None:
    config = load_config("manifests/e2e")
    env = real_components.maas_api_environment(config, tmp_path / "kc", 9999)
    assert env["PROVIDER"] == "sa-tokens"
    assert env["NAMESPACE"] == config.maas_api_namespace
    assert (env["PORT"], env["KUBECONFIG"]) == ("9999", str(tmp_path / "kc"))


def test_the_kubeconfig_carries_the_service_account_token_and_the_ca(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    path = real_components.write_kubeconfig(
        tmp_path / "kc", ApiServerConnection("https://127.0.0.1:1", "sa-token", ca)
    )
    config = yaml.safe_load(path.read_text())
    assert config["users"][0]["user"] == {"token": "sa-token"}
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:1"
    assert "certificate-authority-data" in config["clusters"][0]["cluster"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_started_component_is_waited_for_and_given_its_arguments(tmp_path: Path) -> None:
    binary = _executable(tmp_path / "sim", SERVER)
    record = tmp_path / "record.json"
    supervisor = Supervisor(tmp_path / "logs")
    port = free_port()
    try:
        url = real_components.start(
            supervisor,
            "model",
            real_components.simulator_argv(binary, _spec("--model", "m"), port),
            f"http://127.0.0.1:{port}",
            "/health",
            env={"RECORD": str(record)},
        )
        assert url == f"http://127.0.0.1:{port}"
        assert yaml.safe_load(record.read_text())["argv"] == ["--model", "m", "--port", str(port)]
        (component,) = supervisor.components
    finally:
        supervisor.stop()
    assert component.process.poll() is not None  # stopped with the data plane, nothing left


def test_a_component_that_dies_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    binary = _executable(tmp_path / "maas-api", "import sys\nprint('no kubeconfig')\nsys.exit(3)\n")
    supervisor = Supervisor(tmp_path / "logs")
    port = free_port()
    try:
        with pytest.raises(NotReady, match=r"(?s)maas-api exited with code 3.*no kubeconfig"):
            real_components.start(
                supervisor, "maas-api", [str(binary)], f"http://127.0.0.1:{port}", "/health"
            )
    finally:
        supervisor.stop()


def test_a_binary_that_is_not_executable_stops_start_up_in_one_message(tmp_path: Path) -> None:
    plain = tmp_path / "maas-api"
    plain.write_text("")
    with pytest.raises(FileNotFoundError, match=r"--maas-api-binary .*: not an executable file"):
        RealBinaries(maas_api=plain).check()
    RealBinaries().check()  # nothing given: the embedded components, nothing to check


def test_the_binaries_are_options_of_cluster_up_with_environment_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAAS_LOCAL_SIMULATOR_BINARY", "/opt/sim")
    args = build_parser().parse_args(["cluster", "up", "--maas-api-binary", "/opt/api"])
    assert (args.maas_api_binary, args.simulator_binary) == (Path("/opt/api"), Path("/opt/sim"))
