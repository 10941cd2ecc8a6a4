"""URLs shown to people: a provider's API key in an RPC URL stays out of pages and messages."""

import pytest

from ledger.settings import Settings, browser_rpc_url, redact_url


@pytest.mark.parametrize("url, shown", [
    ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
    ("http://127.0.0.1:8545/", "http://127.0.0.1:8545"),
    ("https://sepolia.infura.io/v3/0123456789abcdef", "https://sepolia.infura.io/…"),
    ("https://user:secret@rpc.example.org", "https://rpc.example.org/…"),
    ("https://rpc.example.org/?apikey=s3cret", "https://rpc.example.org/…"),
    ("http://[::1]:8545", "http://[::1]:8545"),
    ("not a url", "<an unparseable URL>"),
    ("http://host:99999", "<an unparseable URL>"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_the_browser_gets_the_service_url_only_without_a_secret(tmp_path):
    assert browser_rpc_url(Settings(home=tmp_path, rpc_url="http://127.0.0.1:8545")) == "http://127.0.0.1:8545"
    assert browser_rpc_url(Settings(home=tmp_path, rpc_url="https://eth.example/v3/key")) is None
    given = Settings(home=tmp_path, rpc_url="https://eth.example/v3/key", browser_rpc_url="https://public.example")
    assert browser_rpc_url(given) == "https://public.example"
