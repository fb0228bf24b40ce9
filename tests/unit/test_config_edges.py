"""Configuration mistakes that used to pass silently or be described wrongly: unknown tables,
environment sections and variables of no setting, errors blamed on the file that came from the
environment, the advice for a secret in the file, strategy names no signal can carry, and alert
URLs apprise cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderdesk.config import check_alert_urls, load_settings
from orderdesk.errors import ConfigError

pytestmark = pytest.mark.usefixtures("isolated_config")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orderdesk.toml"
    path.write_text(text)
    return path


def refusal(path: Path | None = None) -> str:
    with pytest.raises(ConfigError) as exc_info:
        load_settings(path)
    return str(exc_info.value)


@pytest.mark.parametrize(
    ("text", "named", "meant"),
    [
        ("[strategy.mean_rev]\napproval = true\n", "strategy: unknown section", "strategies"),
        ("[rsik]\nmax_quantity = 10\n", "rsik: unknown section", "risk"),
        ("[risks]\n", "risks: unknown section", "risk"),
        ("[trading-day]\nenabled = false\n", "trading-day: unknown section", "trading_day"),
        ("log_levl = 'DEBUG'\n", "log_levl: unknown setting", "log_level"),
    ],
)
def test_a_misspelled_table_is_refused_naming_what_was_meant(
    tmp_path: Path, text: str, named: str, meant: str
) -> None:
    """A table (or top-level key) of no setting is refused with the file, the key and the
    known key it is closest to: its limits or approvals would otherwise not apply."""
    path = write(tmp_path, text)
    message = refusal()
    assert message.startswith(f"{path}: {named}")
    assert f"did you mean `{meant}`?" in message


def test_an_unknown_table_far_from_any_lists_the_known_ones(tmp_path: Path) -> None:
    """With no close match the refusal lists the sections there are."""
    write(tmp_path, "[frobnicate]\nx = 1\n")
    message = refusal()
    assert "frobnicate: unknown section" in message
    assert "known: " in message
    assert "strategies" in message
    assert "did you mean" not in message


def test_every_installed_adapters_section_may_stay_in_the_file(tmp_path: Path) -> None:
    """``[kite]`` and ``[paper]`` side by side load whichever ``broker`` is chosen: a user
    switches between them with one line."""
    write(
        tmp_path,
        'broker = "paper"\n[kite]\napi_key = "k1"\n[paper]\ncash = "100000"\n'
        "[strategies.mean_rev]\napproval = true\n",
    )
    settings = load_settings()
    assert settings.broker_options() == {"cash": "100000"}
    assert settings.strategies["mean_rev"].approval


def test_a_broker_variable_holding_a_table_or_a_list_is_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ORDERDESK_PAPER__PRICES='{"NSE:INFY":"1500"}'`` reaches the adapter as a table (it
    arrived as the text, which the paper broker refused: "Input should be a valid dictionary");
    one that is not JSON is refused naming the variable."""
    write(tmp_path, 'broker = "paper"\n[paper]\ncash = "100000"\n')
    monkeypatch.setenv("ORDERDESK_PAPER__PRICES", '{"NSE:INFY": "1500"}')
    monkeypatch.setenv("ORDERDESK_PAPER__CASH", "200000")
    assert load_settings().broker_options() == {
        "cash": "200000",
        "prices": {"NSE:INFY": "1500"},
    }
    monkeypatch.setenv("ORDERDESK_PAPER__PRICES", '{"NSE:INFY": 1500')
    with pytest.raises(ConfigError) as refused:
        load_settings().broker_options()
    assert "ORDERDESK_PAPER__PRICES: a list or a table is written as JSON" in str(refused.value)


def test_an_unknown_environment_section_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ORDERDESK_RISKS__MAX_QUANTITY`` is refused naming the variable and the section it
    probably meant, never its value (pydantic-settings ignored it)."""
    monkeypatch.setenv("ORDERDESK_RISKS__MAX_QUANTITY", "987654")
    message = refusal()
    assert message.startswith("environment variable ORDERDESK_RISKS__MAX_QUANTITY: risks:")
    assert "did you mean `risk` (ORDERDESK_RISK__…)?" in message
    assert "987654" not in message


@pytest.mark.parametrize(
    "variable",
    [
        "ORDERDESK_CONFIG_DIR",  # a top-level setting
        "ORDERDESK_SIM__API_SECRET",  # orderdesk sim's own
        "ORDERDESK_KITE_API_SECRET",  # the deprecated secret name
        "ORDERDESK_PAPER__CASH",  # another installed adapter's section
        "ORDERDESK_HOOKS__SECRET",  # a secret under a name a broker's postback_secret chose
        "ORDERDESK_REQUIRE_POSTGRES",  # not the settings' scheme at all
    ],
)
def test_variables_that_are_not_unknown_sections_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """Variables of a known section, another tool or a secret are left alone."""
    monkeypatch.setenv(variable, str(tmp_path) if variable.endswith("_DIR") else "1")
    load_settings()


@pytest.mark.parametrize(
    ("variable", "meant"),
    [
        ("ORDERDESK_RISK_MAX_QUANTITY", "ORDERDESK_RISK__MAX_QUANTITY"),
        ("ORDERDESK_TRADING_DAY_ENABLED", "ORDERDESK_TRADING_DAY__ENABLED"),
        (
            "ORDERDESK_STRATEGIES_MEAN_REV_RISK_MAX_QUANTITY",
            "ORDERDESK_STRATEGIES__MEAN_REV__RISK__MAX_QUANTITY",
        ),
        ("ORDERDESK_RISK_MAX_QTY", "ORDERDESK_RISK__MAX_QUANTITY"),
        ("ORDERDESK_KITE_API_KEY", "ORDERDESK_KITE__API_KEY"),
        ("ORDERDESK_PAPER_CASH", "ORDERDESK_PAPER__CASH"),
        ("ORDERDESK_DATA_DIRS", "ORDERDESK_DATA_DIR"),
        # A secret's name misspelled: not KITE__APISECRET, which is refused in turn.
        ("ORDERDESK_KITE_APISECRET", "ORDERDESK_KITE__API_SECRET"),
    ],
)
def test_a_variable_of_no_setting_is_refused_with_its_spelling(
    monkeypatch: pytest.MonkeyPatch, variable: str, meant: str
) -> None:
    """``ORDERDESK_RISK_MAX_QUANTITY`` (one underscore) is refused naming the variable and the
    setting it spells, never its value: pydantic-settings ignored it, so the limit meant did
    not apply."""
    monkeypatch.setenv(variable, "987654")
    message = refusal()
    assert message.startswith(f"environment variable {variable}: no setting has this name")
    assert f"did you mean {meant}?" in message
    assert "987654" not in message


@pytest.mark.parametrize(
    ("variable", "scheme"),
    [
        ("ORDERDESK_FROBNICATE", "ORDERDESK_<SECTION>__<KEY>"),
        ("ORDERDESK_KITE", "ORDERDESK_KITE__<KEY>"),  # an adapter's section as one variable
        ("ORDERDESK_STRATEGIES_X_Y", "ORDERDESK_STRATEGIES__<NAME>__<KEY>"),
    ],
)
def test_a_variable_of_no_setting_spelling_nothing_shows_the_scheme(
    monkeypatch: pytest.MonkeyPatch, variable: str, scheme: str
) -> None:
    """With no setting spelled, the refusal shows how such a key is named."""
    monkeypatch.setenv(variable, "1")
    message = refusal()
    assert message.startswith(f"environment variable {variable}: no setting")
    assert scheme in message


def test_the_spellings_suggested_set_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The spellings the refusals suggest are the ones that set the limits."""
    monkeypatch.setenv("ORDERDESK_RISK__MAX_QUANTITY", "50")
    monkeypatch.setenv("ORDERDESK_STRATEGIES__MEAN_REV__RISK__MAX_QUANTITY", "7")
    settings = load_settings()
    assert settings.risk.max_quantity == 50
    risk = settings.strategies["mean_rev"].risk
    assert risk is not None
    assert risk.max_quantity == 7


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ORDERDESK_DATA_DIR", "data"),  # a top-level setting
        ("ORDERDESK_LOG_LEVEL", "DEBUG"),
        ("ORDERDESK_RISK", '{"max_quantity": 7}'),  # a whole section, as JSON
        ("ORDERDESK_KITE_ACCESS_TOKEN", "t"),  # deprecated secret names the store still reads
        ("ORDERDESK_SIM_API_SECRET", "s"),
        ("ORDERDESK_TELEGRAM_BOT_TOKEN", "1:abc"),
        ("ORDERDESK_REQUIRE_POSTGRES", "1"),  # the test suite's switch (.ci/run)
    ],
)
def test_variables_the_desk_reads_without_the_section_scheme_pass(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """Names without a double underscore that are settings, secrets' older names or switches
    read elsewhere are not mistaken for a misspelled setting."""
    monkeypatch.setenv(variable, value)
    load_settings()


def test_the_config_file_variable_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ORDERDESK_CONFIG`` names the file, not a setting, and is read."""
    path = tmp_path / "elsewhere.toml"
    path.write_text("[risk]\nmax_quantity = 3\n")
    monkeypatch.setenv("ORDERDESK_CONFIG", str(path))
    assert load_settings().risk.max_quantity == 3


def test_an_environment_error_names_the_variable_not_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad value from ``ORDERDESK_RISK__MAX_QUANTITY`` is blamed on that variable (the file
    says 5, which is fine), without echoing the value."""
    path = write(tmp_path, "[risk]\nmax_quantity = 5\n")
    monkeypatch.setenv("ORDERDESK_RISK__MAX_QUANTITY", "abc-123-xyz")
    message = refusal()
    assert message.startswith("environment variable ORDERDESK_RISK__MAX_QUANTITY: ")
    assert "risk.max_quantity" in message
    assert str(path) not in message
    assert "abc-123-xyz" not in message


def test_a_file_error_still_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With an unrelated variable set, the file's own mistake is the file's."""
    path = write(tmp_path, "[risk]\nmax_quantity = -1\n")
    monkeypatch.setenv("ORDERDESK_API__PORT", "8701")
    assert refusal().startswith(f"{path}: risk.max_quantity: ")


def test_an_error_from_both_names_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table's own rule that reads a file value and a variable's names the two sources."""
    path = write(tmp_path, '[store]\nbackup_dir = "b"\n')
    monkeypatch.setenv("ORDERDESK_STORE__URL", "postgresql+psycopg://desk@db/desk")
    message = refusal()
    assert message.startswith(f"{path} and environment variable ORDERDESK_STORE__URL: store: ")


@pytest.mark.parametrize(
    ("text", "advice", "wrong"),
    [
        (
            '[telegram]\nbot_token = "1:abc"\n',
            "`orderdesk telegram-token`, or export ORDERDESK_TELEGRAM__BOT_TOKEN",
            "orderdesk login",
        ),
        (
            '[kite]\napi_secret = "s"\n',
            "export ORDERDESK_KITE__API_SECRET, or store it with `orderdesk login --ask-secret`",
            "telegram-token",
        ),
        ('[kite]\naccess_token = "t"\n', "`orderdesk login` makes and stores it", "telegram"),
    ],
)
def test_a_secret_in_the_file_points_to_the_command_that_stores_it(
    tmp_path: Path, text: str, advice: str, wrong: str
) -> None:
    """The Telegram bot token is stored by `orderdesk telegram-token`, not `orderdesk login`;
    each secret's refusal names its own way in."""
    write(tmp_path, text)
    message = refusal()
    assert advice in message
    assert wrong not in message


@pytest.mark.parametrize("name", ["stratégie", "mean rev", "x" * 33, "a.b"])
def test_a_strategy_table_no_signal_can_name_is_refused(tmp_path: Path, name: str) -> None:
    """A ``[strategies."…"]`` name outside ASCII letters, digits, _ and - (or over 32) could
    never send a signal, so its approvals and limits would never apply."""
    write(tmp_path, f'[strategies."{name}"]\napproval = true\n')
    message = refusal()
    assert f"strategies: {name!r} can never be a signal's strategy" in message
    assert "1 to 32 ASCII letters, digits, _ and -" in message


@pytest.mark.parametrize("name", ["square_off", "external"])
def test_a_strategy_table_of_the_desks_own_name_is_refused(tmp_path: Path, name: str) -> None:
    """The desk names its own square-off and adopted orders so: a strategy called that would
    have its orders read as those."""
    write(tmp_path, f"[strategies.{name}]\napproval = true\n")
    assert f"strategies: {name!r} is the name of the desk's own orders" in refusal()


def test_strategy_names_signals_carry_load(tmp_path: Path) -> None:
    """Names of ASCII letters, digits, _ and - up to 32 characters are accepted."""
    write(tmp_path, '[strategies.mean_rev-2]\napproval = true\n[strategies."' + "x" * 32 + '"]\n')
    assert set(load_settings().strategies) == {"mean_rev-2", "x" * 32}


@pytest.mark.parametrize("name", ["token", "secret", "password"])
def test_a_strategy_may_be_named_as_a_secret_is(tmp_path: Path, name: str) -> None:
    """``[strategies]`` is keyed by strategy name, not by setting: a strategy called ``token``
    is not a token left in the file (it was refused as one)."""
    write(tmp_path, f"[strategies.{name}]\napproval = true\n")
    assert set(load_settings().strategies) == {name}


def test_a_secret_in_a_strategys_table_is_still_refused(tmp_path: Path) -> None:
    write(tmp_path, '[strategies.momentum]\napproval = true\npassword = "x"\n')
    assert "strategies.momentum.password must not be in the config file" in refusal()


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("not a url", "no scheme"),
        ("foo://s3cr3t-token@example.org", "scheme 'foo'"),
        ("tgram://", "scheme 'tgram'"),
    ],
)
def test_an_alert_url_apprise_cannot_use_is_refused_by_index(
    tmp_path: Path, url: str, scheme: str
) -> None:
    """An unusable ``[alerts] urls`` entry is refused naming its index and scheme only: the
    rest of an apprise URL often is a token."""
    path = write(tmp_path, f'[alerts]\nurls = ["ntfy://orderdesk-alerts", "{url}"]\n')
    settings = load_settings()
    with pytest.raises(ConfigError) as exc_info:
        check_alert_urls(settings, path)
    message = str(exc_info.value)
    assert message.startswith(f"{path}: alerts.urls.1: apprise cannot use this URL ({scheme})")
    assert "s3cr3t" not in message
    assert "not a url" not in message


def test_alert_urls_apprise_can_use_pass(tmp_path: Path) -> None:
    """The README's ntfy URL and a Telegram one are accepted."""
    path = write(tmp_path, '[alerts]\nurls = ["ntfy://orderdesk-alerts", "tgram://123:abc/456"]\n')
    check_alert_urls(load_settings(), path)


@pytest.mark.parametrize(
    "text",
    [
        "[risk]\nmax_quantity = true\n",
        "[risk]\ndaily_loss_limit = false\n",
        "[strategies.momo.risk]\nmax_order_value = true\n",
    ],
)
def test_a_limit_given_as_a_boolean_is_refused(tmp_path: Path, text: str) -> None:
    """`max_quantity = true` became a limit of 1 (pydantic reads a bool as an int), and
    `daily_loss_limit = false` a refusal of every order at a loss of 0."""
    message = refusal(write(tmp_path, text))
    assert 'must be a number, or "off" to switch the check off' in message
