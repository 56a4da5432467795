"""``herald demo`` as the README's "see it work" command runs it, smaller: a process of its own, on an
embedded PostgreSQL of its own in its data folder, with its own sandboxed kernel and emulators."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kernel.cli import main
from kernel.storage.embedded import cluster_processes
from tests.cli_support import Ran, herald
from tests.readme import README, code_blocks, section

SMALL = ("--customers", "300", "--test-period", "3")
#: Every final outcome of a targeted message (stats.table's labels), and `pending` for the rest.
OUTCOMES = (
    "sent",
    "failed",
    "expired",
    "cancelled",
    "suppressed",
    "capped",
    "grace period",
    "quiet hours, dropped",
    "pending",
)
_ROW = re.compile(r"^(?P<label>[a-z][a-z ,]*?)\s{2,}(?P<cells>[\d,.% ]+)$")


def tables(out: str) -> list[dict[str, dict[str, int]]]:
    """The statistics tables printed after ``$ herald campaigns stats``: column -> figure -> count."""
    found = []
    for text in out.split("$ herald campaigns stats", 1)[1].split("\n\n"):
        lines = [line for line in text.splitlines() if line.strip()]
        headed = [i for i, line in enumerate(lines) if line.startswith("  ")]
        if not headed:
            continue
        headings = re.split(r"\s{2,}", lines[headed[0]].strip())
        table: dict[str, dict[str, int]] = {heading: {} for heading in headings}
        for line in lines[headed[0] + 1 :]:
            row = _ROW.match(line)
            assert row, line
            cells = row["cells"].split()
            for heading, cell in zip(headings, cells, strict=True):
                if not cell.endswith("%"):
                    table[heading][row["label"]] = int(cell.replace(",", ""))
        found.append(table)
    return found


def project_of(ran: Ran) -> str:
    return re.search(r'project "Demo [^"]+" created: (\S+)', ran.out)[1]


async def test_the_demo_runs_a_campaign_to_its_winner_its_figures_add_up_and_it_cleans_up(
    tmp_path: Path,
) -> None:
    ran = await herald(tmp_path, "demo", *SMALL, "--data-dir", "demo", "--report", "report.html")
    assert ran.status == 0, (ran.out, ran.err)

    # A winner was chosen, on the values shown (a tie goes to the first variant).
    winner, value_a, value_b = re.search(
        r"winner: (A|B) \(open rate A ([\d.]+)%, B ([\d.]+)%\)", ran.out
    ).groups()
    assert winner == ("A" if float(value_a) >= float(value_b) else "B")

    campaign, by_send = tables(ran.out)
    total = campaign["total"]
    assert total["sent"] > 0 and total["pending"] == 0
    channels = [heading for heading in campaign if heading != "total"]
    assert channels == ["email.sparkpost", "push.apns", "push.fcm"]
    # Every targeted message has one outcome; the channels, and the test's and the rest's sends, add up
    # to the total.
    for column in campaign.values():
        assert column["targeted"] == sum(column[outcome] for outcome in OUTCOMES), column
    assert list(by_send) == ["once A (test)", "once B (test)", f"once {winner} (rest)"]
    for figure, count in total.items():
        assert sum(campaign[channel][figure] for channel in channels) == count, figure
        assert sum(column[figure] for column in by_send.values()) == count, figure
    # The emulators' reports came back: deliveries and opens of the emails.
    email = campaign["email.sparkpost"]
    assert email["delivered"] + email["bounced"] <= email["sent"] and email["opened"] > 0

    assert f"report written to {Path('report.html')}" in ran.out
    page = (tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert not re.search(r"<script|<link|<img|@import|url\(|src=", page, re.I)

    # The embedded PostgreSQL it started is stopped; a second run adds a second demo project beside it.
    pgdata = tmp_path / "demo" / "postgres"
    assert pgdata.is_dir() and cluster_processes(pgdata.resolve()) == []
    again = await herald(tmp_path, "demo", *SMALL, "--data-dir", "demo", "--report", "report.html")
    assert again.status == 0, (again.out, again.err)
    assert project_of(again) != project_of(ran)
    assert cluster_processes(pgdata.resolve()) == []


@pytest.mark.parametrize(
    ("argv", "variables", "named"),
    [
        ((), {"HERALD_DATABASE_URL": "postgresql://127.0.0.1:9/herald"}, "HERALD_DATABASE_URL"),
        (("--customers", "10"), {}, "--customers"),
        (("--test-period", "0"), {}, "--test-period"),
        (("--report", "nowhere/report.html"), {}, "--report"),
    ],
)
def test_the_demo_refuses_what_it_cannot_run_with_naming_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    variables: dict[str, str],
    named: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HERALD_DATABASE_URL", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert main(["demo", *SMALL, *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("herald: ") and named in err
    assert not (tmp_path / "herald-demo").exists()


def test_the_readme_says_to_see_it_work_with_the_make_target_that_runs_the_demo() -> None:
    [command] = code_blocks("bash", section("## See it work"))
    assert command.code == "make demo\n"
    makefile = (README.parent / "Makefile").read_text()
    assert "\ndemo: $(VENV)/.installed\n\t$(BIN)/herald demo\n" in makefile
