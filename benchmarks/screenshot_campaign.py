"""The campaign page's picture for the README (docs/screenshots/campaign.png), reproducibly.

Collects the demo world (the 482 Nghệ An Pages of ``config/units.nghe-an.csv``, with the
sandbox's campaigns) from the Graph API sandbox for the month before 20/11/2026, detects the
campaigns the sandbox opened since October as a campaigns file would name them (hashtag,
dates, directive addresses), builds the reports and photographs the campaign page of
"Ngày hội Đại đoàn kết toàn dân tộc 2026" with headless Chromium, as the other pictures
were taken (docs/reports.md). About 45 s on the 2-core machine.

    .venv/bin/python benchmarks/screenshot_campaign.py [--out docs/screenshots/campaign.png]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from fanpulse.collector.run import collect_once
from fanpulse.config.campaigns import make_campaign
from fanpulse.config.settings import Settings
from fanpulse.config.units import read_units_file
from fanpulse.reports.build import build_reports
from fanpulse.reports.campaigns import campaign_filename
from fanpulse.sandbox import SandboxServer, World
from fanpulse.sandbox.tokens import DEFAULT_TOKEN
from fanpulse.storage.campaigns import detect_campaigns
from fanpulse.storage.db import ensure_schema, make_engine, transaction
from fanpulse.storage.units import sync_units

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "config" / "units.nghe-an.csv"
NOW = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
REPORT_NOW = dt.datetime(2026, 11, 20, 5, 0, tzinfo=dt.UTC)
CAMPAIGN = "dai-doan-ket-2026"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "campaign.png"))
    args = parser.parse_args()
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        world = World.from_units_csv(UNITS, seed=1, start=NOW.date() - dt.timedelta(days=400),
                                     now=NOW, campaigns=True)
        engine = make_engine(f"sqlite:///{folder / 'store.db'}")
        ensure_schema(engine)
        with transaction(engine) as session:
            sync_units(session, read_units_file(UNITS), NOW)
        with SandboxServer(world) as server:
            settings = Settings().replace(graph_url=server.base_url, access_token=DEFAULT_TOKEN,
                                          app_secret="", campaigns_file=str(folder / "none.toml"))
            collect_once(settings, engine, clock=lambda: world.now, since=dt.date(2026, 10, 20))
        by_key: dict[str, list[dict[str, object]]] = {}
        for seed in world.campaign_seeds():
            by_key.setdefault(str(seed["campaign"]), []).append(seed)
        campaigns = [make_campaign(key, str(s[0]["name"]), s[0]["from"],  # type: ignore[arg-type]
                                   s[0]["to"],  # type: ignore[arg-type]
                                   hashtags=[str(s[0]["hashtag"])],
                                   seeds=[str(x["permalink_url"]) for x in s])
                     for key, s in by_key.items()
                     if s[0]["to"] >= dt.date(2026, 10, 1)]  # type: ignore[operator]
        detect_campaigns(engine, campaigns, ZoneInfo("Asia/Ho_Chi_Minh"), NOW)
        build_reports(engine, folder / "reports", now=REPORT_NOW)
        engine.dispose()
        page = folder / "reports" / campaign_filename(CAMPAIGN)
        out = Path(args.out).absolute()
        subprocess.run([browser, "--headless", "--no-sandbox", "--hide-scrollbars",
                        "--window-size=1100,1400", "--virtual-time-budget=10000",
                        f"--screenshot={out}", page.as_uri()],
                       check=True, capture_output=True, timeout=180)
    print(out)


if __name__ == "__main__":
    main()
