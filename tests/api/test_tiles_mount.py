"""With ``DPL_PUBLISH_DIR`` the service also serves the published directory at ``/tiles/``
(static files, no key: hashes and signed notes only); without it there is no such path."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from ledger.settings import Settings


def _client(tmp_path, publish_dir):
    settings = Settings(home=tmp_path / "home", database_url=None, publish_dir=publish_dir)
    return TestClient(create_app(settings, anchoring=False, webhooks=False))


def test_the_published_directory_is_served_at_tiles(tmp_path):
    out = tmp_path / "pub"
    log = out / ("ab" * 32)
    (log / "tile" / "0").mkdir(parents=True)
    (log / "checkpoint").write_text("data-pledge-ledger/31337/" + "ab" * 32 + "\n3\nAAAA\n")
    (log / "tile" / "0" / "000.p").mkdir()
    (log / "tile" / "0" / "000.p" / "3").write_bytes(b"\x01" * 96)
    (tmp_path / "secret.txt").write_text("not published")
    with _client(tmp_path, out) as client:
        r = client.get(f"/tiles/{'ab' * 32}/checkpoint")
        assert r.status_code == 200 and r.text.startswith("data-pledge-ledger/31337/")
        assert client.get(f"/tiles/{'ab' * 32}/tile/0/000.p/3").content == b"\x01" * 96
        assert client.get("/tiles/../secret.txt").status_code == 404
        assert client.get("/tiles/%2e%2e/secret.txt").status_code == 404
        assert client.get(f"/tiles/{'cd' * 32}/checkpoint").status_code == 404


def test_without_a_publish_dir_there_is_no_tiles_path(tmp_path):
    with _client(tmp_path, None) as client:
        assert client.get(f"/tiles/{'ab' * 32}/checkpoint").status_code == 404
