import pytest

from kernel import ConfigError, load_settings
from kernel.settings import DEFAULT_DATABASE_URL


def write(tmp_path, text):
    path = tmp_path / "crm.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_default_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.plugins is None
    assert settings.default_locale == "zh_CN"


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml: file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_file_values_and_env_overrides(tmp_path):
    path = write(
        tmp_path,
        '[crm]\ndatabase_url = "sqlite:///a.db"\nplugins = ["notes"]\nsecret_key = "s1"\ndefault_locale = "en"\n'
        "[plugins.notes]\nstale_days = 5\n",
    )
    settings = load_settings(path, env={"CRM_DATABASE_URL": "sqlite:///b.db", "CRM_SECRET_KEY": "s2"})
    assert settings.database_url == "sqlite:///b.db"
    assert settings.secret_key == "s2"
    assert settings.plugins == ("notes",)
    assert settings.default_locale == "en"
    assert settings.plugin_settings == {"notes": {"stale_days": 5}}
    assert settings.config_file == str(path)


def test_config_path_from_env(tmp_path):
    path = write(tmp_path, '[crm]\ndatabase_url = "sqlite:///env.db"\n')
    assert load_settings(env={"CRM_CONFIG": str(path)}).database_url == "sqlite:///env.db"


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("[crm\n", None, "not valid TOML"),
        ("[crm]\ndatabse_url = 'x'\n", "crm.databse_url", "unknown key"),
        ("[crm]\nplugins = 'notes'\n", "crm.plugins", "must be a list"),
        ("[crm]\nplugins = [1]\n", "crm.plugins", "must be a list of plugin names"),
        ("[crm]\ndefault_locale = 'fr'\n", "crm.default_locale", "must be one of zh_CN, en"),
        ("[crm]\nrefresh_seconds = true\n", "crm.refresh_seconds", "must be a number"),
        ("[other]\nx = 1\n", "other", "unknown table"),
        ("[crm]\ntrusted_proxies = '10.0.0.1'\n", "crm.trusted_proxies", "must be a list of proxy addresses"),
        ("[crm]\ntrusted_proxies = ['10.0.0.1', 'proxy.local']\n", "crm.trusted_proxies", "'proxy.local' is not an IP address or network"),
        ("[crm]\ntrusted_proxies = [1]\n", "crm.trusted_proxies", "1 is not an IP address"),
        ("plugins = 3\n", "plugins", "must be a table"),
    ],
)
def test_bad_files_name_file_key_and_reason(tmp_path, text, key, reason):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    message = str(caught.value)
    expected_start = f"{path}: {key}: " if key else f"{path}: "
    assert message.startswith(expected_start)
    assert reason in message
    assert "\n" not in message


def test_trusted_proxies_are_normalized_networks(tmp_path):
    path = write(tmp_path, '[crm]\ntrusted_proxies = ["10.0.0.1", "10.1.2.3/8", "::1"]\n')
    assert load_settings(path, env={}).trusted_proxies == ("10.0.0.1/32", "10.0.0.0/8", "::1/128")
    assert load_settings(write(tmp_path, "[crm]\n"), env={}).trusted_proxies == ()
