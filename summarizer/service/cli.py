"""``summarizer serve`` and ``summarizer keys …``: the service's commands (registered by :mod:`summarizer.cli`)."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ConfigurationError
from ..options import Limits
from ..session import Summarizer
from .keys import KeyStore

keys_app = typer.Typer(no_args_is_help=True, help="Make, list and revoke the service's API keys.")

Db = Annotated[Path | None, typer.Option("--db", help="The service database (default $SUMMARIZER_HOME/service.db).")]


def is_loopback(host: str) -> bool:
    """Does ``host`` bind loopback only (127.0.0.0/8, ::1, localhost)?"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: whatever it resolves to
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def serve(host: str, port: int, model: str | None, also: list[str], concurrency: int, queue: int, max_body: int,
          timeout: float, key_rpm: float | None, db: Path | None, cors_origins: list[str], allow_open: bool,
          cache: bool, log_level: str) -> None:
    try:
        import uvicorn

        from .app import ServiceConfig, create_app
    except ImportError as exc:
        raise ConfigurationError(f"summarizer serve needs the serve extra ({exc.name} is missing): "
                                 "pip install 'summarizer[serve]'") from None
    keys = KeyStore(db)
    if not keys.any_live() and not is_loopback(host) and not allow_open:
        raise ConfigurationError(
            f"no API key exists, so the service would be open to anyone who can reach {host}: make one with "
            "`summarizer keys create --name …`, bind 127.0.0.1, or pass --allow-open")
    for name in also:  # every model offered is resolved now, not on a client's first request
        Summarizer(name, cache=False).close()
    config = ServiceConfig(model=model, models=tuple(also), concurrency=concurrency, queue=queue,
                           max_body_bytes=max_body, request_timeout_s=timeout, key_rpm=key_rpm, cache=cache,
                           db=keys.path, cors_origins=tuple(cors_origins))
    # the model resolved now: an unknown one, a missing key or package is one line and exit 4, before binding
    with Summarizer(model, cache=cache, limits=Limits(concurrency=concurrency)) as session:
        app = create_app(config, keys=keys, session=session)
        mode = "keys required" if keys.any_live() else "open (no key exists; loopback only)"
        typer.echo(f"summarizer serve: {session.model.name} on http://{host}:{port} ({mode}; the page at /, the API "
                   "at /docs)", err=True)
        uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="What will use the key, e.g. newsroom-cms.")],
    rpm: Annotated[float | None, typer.Option(min=1, help="This key's requests per minute (default: the "
                                              "server's --key-rpm).")] = None,
    tpm: Annotated[float | None, typer.Option(min=1, help="This key's tokens per minute.")] = None,
    db: Db = None,
) -> None:
    """Make a key and print it once (only its hash is stored)."""
    store = KeyStore(db)
    record, key = store.create(name, rpm=rpm, tpm=tpm)
    typer.echo(key)
    typer.echo(f"key {record.id} ({record.name}) created; it is shown only now", err=True)


@keys_app.command("list")
def keys_list(db: Db = None) -> None:
    """The keys (ids and names, never the keys themselves)."""
    for k in KeyStore(db).list():
        rates = ", ".join(f"{v:g} {u}" for v, u in ((k.rpm, "rpm"), (k.tpm, "tpm")) if v) or "default rates"
        typer.echo(f"{k.id}  {k.name}  {rates}{'  revoked' if k.revoked else ''}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (or the key).")], db: Db = None) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    if not KeyStore(db).revoke(key_id):
        raise ConfigurationError(f"no key {key_id!r}")
    typer.echo(f"revoked {key_id}", err=True)


