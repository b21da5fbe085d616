"""nginx in front of treadle's server: the app, wrapped in ProxyFix trusting one hop, sees the
client's address, scheme, host and the /notes prefix that nginx reports, and nothing a client
forges in X-Forwarded-* headers of its own.

The client connects from 127.0.0.5 (still loopback), so its address differs from nginx's.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from deploy_servers import NGINX_PREFIX, Site, start_nginx_site

CLIENT_ADDRESS = "127.0.0.5"
WHOAMI = NGINX_PREFIX + "/api/whoami"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    started = start_nginx_site(tmp_path_factory.mktemp("nginx"))
    yield started
    started.stop()


def _whoami(site: Site, *, https: bool = False, headers: dict[str, str] | None = None) -> Any:
    """GET whoami through nginx from CLIENT_ADDRESS; the app's JSON view of the request."""
    conn: http.client.HTTPConnection
    if https:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # nginx's throwaway self-signed certificate
        conn = http.client.HTTPSConnection(
            "127.0.0.1", site.ports["https"], timeout=10,
            source_address=(CLIENT_ADDRESS, 0), context=context,
        )  # fmt: skip
    else:
        conn = http.client.HTTPConnection(
            "127.0.0.1", site.ports["http"], timeout=10, source_address=(CLIENT_ADDRESS, 0)
        )
    try:
        conn.request("GET", WHOAMI, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, body
        return json.loads(body)
    finally:
        conn.close()


def test_remote_addr_is_the_clients_address_not_nginxs(site: Site) -> None:
    assert _whoami(site)["remote_addr"] == CLIENT_ADDRESS


def test_https_at_nginx_makes_the_app_build_https_urls(site: Site) -> None:
    seen = _whoami(site, https=True)
    assert seen["scheme"] == "https"
    assert seen["index_url"] == f"https://127.0.0.1:{site.ports['https']}{NGINX_PREFIX}/"


def test_plain_http_at_nginx_stays_http(site: Site) -> None:
    seen = _whoami(site)
    assert seen["scheme"] == "http"
    assert seen["url"] == f"http://127.0.0.1:{site.ports['http']}{WHOAMI}"


def test_external_urls_use_the_host_the_client_asked_nginx_for(site: Site) -> None:
    seen = _whoami(site, headers={"Host": "notes.example:8080"})
    assert seen["host"] == "notes.example:8080"
    assert seen["index_url"] == f"http://notes.example:8080{NGINX_PREFIX}/"


def test_prefix_from_nginx_becomes_the_script_root(site: Site) -> None:
    assert _whoami(site)["script_root"] == NGINX_PREFIX


def test_forwarded_headers_forged_by_the_client_are_ignored(site: Site) -> None:
    seen = _whoami(
        site,
        headers={
            "X-Forwarded-For": "203.0.113.66",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Prefix": "/evil",
        },
    )
    assert seen["remote_addr"] == CLIENT_ADDRESS
    assert seen["scheme"] == "http"
    assert seen["host"] == f"127.0.0.1:{site.ports['http']}"
    assert seen["index_url"] == f"http://127.0.0.1:{site.ports['http']}{NGINX_PREFIX}/"


def test_login_redirect_stays_under_the_prefix(site: Site) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", site.ports["http"], timeout=10)
    try:
        conn.request("GET", NGINX_PREFIX + "/notes/new")
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    assert response.status == 302
    assert response.getheader("Location") == f"{NGINX_PREFIX}/auth/login?next=/notes/new"
