"""Model endpoints against real local HTTP servers: training through them equals training locally, and every fault
(dead, slow, failing then recovering, refusing the token, too large, lying) gives its own clear error."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignment_plugins.anchors import load_builtin
from alignment_plugins.endpoint import (
    EndpointAuthError,
    EndpointProtocolError,
    EndpointResponseTooLarge,
    EndpointTimeout,
    EndpointUnreachable,
)
from alignment_plugins.endpoint.client import EndpointClient, EndpointConfig
from alignment_plugins.endpoint.protocol import PROTOCOL, encode_states
from alignment_plugins.endpoint.server import ModelServer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def running() -> Iterator[Callable[[Any], Any]]:
    """running(server) serves an HTTP server in a thread until the test ends; returns it."""
    servers: list[Any] = []

    def start(server: Any) -> Any:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def serve(running: Callable[[Any], Any]) -> Callable[..., ModelServer]:
    """Factory: serve(model, **options) starts a ModelServer on a free local port."""
    return lambda model, **options: running(ModelServer(model, "127.0.0.1", 0, **options))


def _loaded(tiny_model: Callable[[str], Path], family: str) -> Any:
    from alignment_plugins.models import load_model

    return load_model(str(tiny_model(family)))


def test_training_against_served_models_equals_training_locally(
    tiny_model: Callable[[str], Path], serve: Callable[..., ModelServer], tmp_path: Path
) -> None:
    from alignment_plugins.trainer import WMatrixTrainer
    from alignment_plugins.wmatrix import WMatrix

    anchors = load_builtin().sample(80, seed=3)
    source, target = _loaded(tiny_model, "llama"), _loaded(tiny_model, "qwen2")
    src_server, tgt_server = serve(source, auth_token="s3cret"), serve(target, auth_token="s3cret")

    def train(**endpoints: Any) -> WMatrix:
        trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("qwen2")), anchors=anchors, seed=4,
                                 cache=False, **endpoints)
        return trainer.configure(layers="all").train(validation_split=0.15, test_split=0.15)

    local = train()
    remote = train(source_endpoint=src_server.url, target_endpoint=tgt_server.url, endpoint_token="s3cret")
    assert sorted(remote.maps) == sorted(local.maps) and remote.recommended_pair == local.recommended_pair
    for pair, linear in local.maps.items():
        np.testing.assert_allclose(remote.maps[pair].weight, linear.weight, atol=1e-5)
        np.testing.assert_allclose(remote.maps[pair].mean_y, linear.mean_y, atol=1e-5)
    for key, values in local.pair_metrics.items():
        assert remote.pair_metrics[key]["accuracy"] == values["accuracy"]
    assert remote.source["fingerprint"] == local.source["fingerprint"]  # the served weights' fingerprint
    assert remote.source["origin"] == {"kind": "endpoint", "location": src_server.url,
                                       "served_name": source.name, "served_origin": source.origin}
    assert local.source["origin"] == {"kind": "path", "location": str(tiny_model("llama").resolve())}
    loaded = WMatrix.load(remote.save(tmp_path / "remote.wmatrix"))
    assert loaded.source["origin"]["kind"] == "endpoint"


def test_served_hidden_states_match_local_ones_for_every_pooling(
    tiny_model: Callable[[str], Path], serve: Callable[..., ModelServer]
) -> None:
    from alignment_plugins.manager import get_plugin_manager
    from alignment_plugins.models import load_model

    model = _loaded(tiny_model, "gemma3")
    server = serve(model, max_texts=2)  # three texts: the client splits them into two requests
    remote = load_model("my-gemma", endpoint=server.url)
    assert remote.adapter == "remote" and remote.info.hidden_size == model.info.hidden_size
    assert remote.fingerprint == model.fingerprint and remote.name == "my-gemma"
    texts = ["The baker opened her shop.", "Snow arrived in December.", "A fox stole three hens."]
    hook = get_plugin_manager().hook
    for pooling in ("mean", "last"):
        here = hook.alignment_extract_hidden_states(model=model, texts=texts, layers=[0, 2], pooling=pooling,
                                                    max_length=64)
        there = hook.alignment_extract_hidden_states(model=remote, texts=texts, layers=[0, 2], pooling=pooling,
                                                     max_length=64)
        for layer in (0, 2):
            np.testing.assert_allclose(there[layer], here[layer], atol=1e-5)
    here = hook.alignment_extract_hidden_states(model=model, texts=texts, layers=[1], pooling="tokens", max_length=64)
    there = hook.alignment_extract_hidden_states(model=remote, texts=texts, layers=[1], pooling="tokens",
                                                 max_length=64)
    for a, b in zip(here[1], there[1], strict=True):
        np.testing.assert_array_equal(np.asarray(b.offsets), np.asarray(a.offsets))
        np.testing.assert_allclose(b.states, a.states, atol=1e-5)
    assert hook.alignment_token_offsets(model=remote, texts=texts) == hook.alignment_token_offsets(
        model=model, texts=texts)
    assert hook.alignment_forward(model=remote, texts=texts, layers=[1], outputs=[], max_length=8) is None


# ------------------------------------------------------------------------------------------------ faults
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_dead_endpoint_is_unreachable_after_its_retries() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    client = EndpointClient(EndpointConfig(url, retries=2, backoff=0.05))
    started = time.monotonic()
    with pytest.raises(EndpointUnreachable, match=r"cannot reach .*\(after 3 attempts\)"):
        client.description()
    assert time.monotonic() - started >= 0.05 + 0.1  # backed off 0.05 s, then 0.1 s


class _Scripted(ThreadingHTTPServer):
    """A hand-written endpoint: `answers` is a list of (status, body bytes, delay s) served in order, then repeated."""

    daemon_threads = True

    def __init__(self, answers: list[tuple[int, bytes, float]]) -> None:
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)
        self.answers, self.calls, self.headers_seen = answers, 0, []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ScriptedHandler(BaseHTTPRequestHandler):
    server: _Scripted

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.headers_seen.append(dict(self.headers))
        status, body, delay = self.server.answers[min(self.server.calls, len(self.server.answers) - 1)]
        self.server.calls += 1
        time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = _reply


@pytest.fixture
def scripted(running: Callable[[Any], Any]) -> Callable[[list[tuple[int, bytes, float]]], _Scripted]:
    """Factory: scripted(answers) starts a _Scripted server."""
    return lambda answers: running(_Scripted(answers))


DIM = 4


def _description(**changes: Any) -> bytes:
    body = {"protocol": PROTOCOL, "name": "liar", "fingerprint": "sha256:ab", "dtype": "float32",
            "info": {"name": "liar", "family": "llama", "kind": "causal", "hidden_size": DIM, "num_layers": 2},
            "limits": {"max_texts": 8, "max_length": 512, "max_request_bytes": 1 << 20}, "poolings": ["mean"]}
    for key, value in changes.items():
        if key in body["info"]:
            body["info"][key] = value
        else:
            body[key] = value
    return json.dumps(body).encode()


def test_a_slow_endpoint_times_out(scripted: Callable[..., _Scripted]) -> None:
    server = scripted([(200, _description(), 1.0)])
    client = EndpointClient(EndpointConfig(server.url, timeout=0.2, retries=1, backoff=0.01))
    with pytest.raises(EndpointTimeout, match=r"did not answer within 0.2s.*after 2 attempts"):
        client.description()
    assert server.calls == 2


def test_transient_failures_are_retried_with_backoff(scripted: Callable[..., _Scripted]) -> None:
    server = scripted([(503, b'{"error": "warming up"}', 0.0), (502, b"", 0.0), (200, _description(), 0.0)])
    client = EndpointClient(EndpointConfig(server.url, retries=3, backoff=0.01))
    assert client.description()["name"] == "liar" and server.calls == 3
    failing = scripted([(400, b'{"error": "bad texts"}', 0.0)])
    with pytest.raises(Exception, match="answered HTTP 400: bad texts") as info:
        EndpointClient(EndpointConfig(failing.url, retries=3, backoff=0.01)).description()
    assert failing.calls == 1 and not isinstance(info.value, EndpointUnreachable)  # a client error is not retried


def test_the_token_is_sent_and_a_refusal_is_an_auth_error(
    tiny_model: Callable[[str], Path], serve: Callable[..., ModelServer], scripted: Callable[..., _Scripted],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = serve(_loaded(tiny_model, "llama"), auth_token="right")
    with pytest.raises(EndpointAuthError, match=r"refused the request \(401\): missing or wrong bearer token"):
        EndpointClient(EndpointConfig(server.url, auth_token="wrong", retries=3)).description()
    with pytest.raises(EndpointAuthError):
        EndpointClient(server.url).description()
    monkeypatch.setenv("ALIGNMENT_ENDPOINT_TOKEN", "right")
    assert EndpointClient(server.url).description()["fingerprint"].startswith("sha256:")
    echo = scripted([(200, _description(), 0.0)])
    EndpointClient(EndpointConfig(echo.url, auth_token="t0k")).description()
    assert echo.headers_seen[0]["Authorization"] == "Bearer t0k"


def test_size_limits_on_both_sides(
    tiny_model: Callable[[str], Path], serve: Callable[..., ModelServer], scripted: Callable[..., _Scripted]
) -> None:
    big = scripted([(200, b"x" * 5000, 0.0)])
    with pytest.raises(EndpointResponseTooLarge, match="announced 5000 bytes; the limit is 1000"):
        EndpointClient(EndpointConfig(big.url, max_response_bytes=1000)).description()
    server = serve(_loaded(tiny_model, "llama"), max_request_bytes=200)
    client = EndpointClient(EndpointConfig(server.url, retries=0))
    with pytest.raises(Exception, match=r"HTTP 413: request body of \d+ bytes exceeds 200"):
        client.hidden_states(["word " * 60], [1], "mean")
    with pytest.raises(ValueError, match="max_length 9999 exceeds the endpoint's limit 512"):
        client.hidden_states(["short"], [1], "mean", max_length=9999)
    with pytest.raises(ValueError, match=r"layers \[7\] out of range 0..3"):
        client.hidden_states(["short"], [7], "mean")


def _payload(array: np.ndarray, fingerprint: str = "sha256:ab", pooling: str = "mean") -> bytes:
    return encode_states({1: array}, pooling=pooling, fingerprint=fingerprint)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (_payload(np.zeros((2, DIM + 1))), r"layer 1 has shape \(2, 5\), expected \(2, 4\)"),
        (_payload(np.zeros((3, DIM))), r"layer 1 has shape \(3, 4\), expected \(2, 4\)"),
        (_payload(np.full((2, DIM), np.nan)), "layer 1 has non-finite values"),
        (_payload(np.zeros((2, DIM)), fingerprint="sha256:other"),
         "fingerprint 'sha256:other', but the endpoint described 'sha256:ab' \\(inconsistent metadata"),
        (_payload(np.zeros((2, DIM)), pooling="last"), "pooling 'last', asked for 'mean'"),
        (encode_states({2: np.zeros((2, DIM))}, pooling="mean", fingerprint="sha256:ab"),
         r"tensors \['layer.2'\], expected \['layer.1'\]"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{not json", "not a readable hidden-states payload"),
    ],
)
def test_a_lying_endpoint_is_caught(scripted: Callable[..., _Scripted], payload: bytes, message: str) -> None:
    server = scripted([(200, _description(), 0.0), (200, payload, 0.0)])
    client = EndpointClient(EndpointConfig(server.url, retries=0))
    with pytest.raises(EndpointProtocolError, match=message):
        client.hidden_states(["one", "two"], [1], "mean")


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"hidden_size": 0}, "info.hidden_size must be a positive integer"),
     ({"num_layers": "three"}, "info.num_layers must be a positive integer"),
     ({"protocol": "other/9"}, "protocol 'other/9'"),
     ({"fingerprint": ""}, "no weight fingerprint"),
     ({"limits": {"max_texts": 0, "max_length": 8}}, "limits.max_texts must be a positive integer")],
)
def test_inconsistent_model_metadata_is_refused(scripted: Callable[..., _Scripted], changes: dict,
                                                message: str) -> None:
    server = scripted([(200, _description(**changes), 0.0)])
    with pytest.raises(EndpointProtocolError, match=message):
        EndpointClient(EndpointConfig(server.url, retries=0)).description()


def test_a_model_swapped_behind_the_endpoint_is_caught_mid_run(
    tiny_model: Callable[[str], Path], serve: Callable[..., ModelServer]
) -> None:
    from alignment_plugins.models import load_model

    server = serve(_loaded(tiny_model, "llama"))
    remote = load_model("served", endpoint=server.url)
    server.model = _loaded(tiny_model, "gemma3")  # same hidden size, other weights
    with pytest.raises(EndpointProtocolError, match="inconsistent metadata"):
        remote.model.hidden_states(["a text"], [1], "mean")


def test_serve_model_command_parses(tiny_model: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from alignment_plugins import __main__ as cli
    from alignment_plugins.endpoint import server as server_module

    seen: dict[str, Any] = {}
    monkeypatch.setattr(server_module, "serve_model", lambda model, **kw: seen.update(model=model, **kw))
    monkeypatch.setenv("MY_TOKEN", "abc")
    assert cli.main(["serve-model", "--model", "m", "--port", "9", "--token-env", "MY_TOKEN"]) == 0
    assert seen == {"model": "m", "host": "127.0.0.1", "port": 9, "auth_token": "abc", "dtype": "float32",
                    "device": "cpu", "max_texts": 64}
