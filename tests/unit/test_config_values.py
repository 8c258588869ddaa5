"""Values in fsnb.yaml that load but could not work are refused at load, naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsnb.config import Timeouts, load_config
from fsnb.errors import ConfigError


@pytest.mark.parametrize("value", ["-1", ".nan", "0", ".inf"])
@pytest.mark.parametrize("key", ["read", "connect"])
@pytest.mark.parametrize("backend", ["{type: redis, url: 'redis://127.0.0.1:6379/0'",
                                     "{type: remote, path: 'http://127.0.0.1:1'"])
def test_timeouts_must_be_positive_finite_seconds(tmp_path: Path, backend: str, key: str, value: str) -> None:
    (tmp_path / "fsnb.yaml").write_text(f"project: p\nonline_store: {backend}, timeouts: {{{key}: {value}}}}}\n")
    with pytest.raises(ConfigError, match=rf"online_store.timeouts: timeouts.{key} must be a positive, finite number"):
        load_config(tmp_path, env={})


def test_timeouts_take_any_positive_number() -> None:
    assert Timeouts(connect=0.25, read=30) == Timeouts(connect=0.25, read=30.0)
    with pytest.raises(ConfigError, match="0 does not mean 'no timeout'"):
        Timeouts(read=0)


def test_the_unknown_key_message_lists_only_keys_a_file_may_hold(tmp_path: Path) -> None:
    (tmp_path / "fsnb.yaml").write_text("project: p\nbogus: 1\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['bogus'\]") as info:
        load_config(tmp_path, env={})
    assert "'project'" in str(info.value)
    assert "repo_path" not in str(info.value) and "source_file" not in str(info.value)
