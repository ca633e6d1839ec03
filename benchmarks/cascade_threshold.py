"""How the re-posted-text threshold of collector/cascade.py was chosen: precision and recall of
the cascade rules against the sandbox's truth, for thresholds from 0.3 to 0.95.

The posts are read straight from the simulated world (no collection: this measures the rules,
not the collector), every post of every Page of the demo world (the 482 Nghệ An Pages, a year,
campaigns on) as a candidate, every directive post as a seed. A carry is right when the truth
says that post carries that seed; recall counts the truth's carries found.

    .venv/bin/python benchmarks/cascade_threshold.py [--units config/units.nghe-an.csv]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fanpulse.collector.cascade import Candidate, Seed, detect_carries  # noqa: E402
from fanpulse.sandbox.campaigns import CARRY_DAYS  # noqa: E402
from fanpulse.sandbox.world import World  # noqa: E402

THRESHOLDS = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", default=str(ROOT / "config" / "units.nghe-an.csv"))
    args = parser.parse_args()
    began = time.perf_counter()
    world = World.from_units_csv(args.units, campaigns=True)
    ids: dict[str, int] = {}
    pages: dict[str, int] = {}
    candidates: list[Candidate] = []
    truth: dict[int, int] = {}
    for page_id in world.pages:
        page = pages.setdefault(page_id, len(pages) + 1)
        for post in world.history.all_posts_until(page_id, world.now):
            if post.visitor:
                continue
            number = ids.setdefault(post.id, len(ids) + 1)
            links = (post.link_url,) if post.link_url else ()
            candidates.append(Candidate(number, page, post.created, post.message,
                                        post.parent_id, links))
    seeds = [Seed.make(ids[s["id"]], s["id"], pages[s["page_id"]], s["created_time"],
                       s["message"], s["permalink_url"]) for s in world.campaign_seeds()]
    for post_id, (seed_id, _method) in world.truth_carries().items():
        truth[ids[post_id]] = ids[seed_id]
    print(f"{len(candidates)} posts, {len(seeds)} seeds, {len(truth)} true carries "
          f"(read in {time.perf_counter() - began:.1f} s)")
    print("threshold  precision  recall   found  (text carries found / right)")
    for threshold in THRESHOLDS:
        t = time.perf_counter()
        found = detect_carries(seeds, candidates, CARRY_DAYS + 1, threshold)
        seconds = time.perf_counter() - t
        right = sum(1 for c in found if truth.get(c.post_id) == c.seed_post_id)
        text = [c for c in found if c.method == "text"]
        text_right = sum(1 for c in text if truth.get(c.post_id) == c.seed_post_id)
        precision = right / len(found) if found else 1.0
        recall = right / len(truth) if truth else 1.0
        print(f"{threshold:9.2f}  {precision:9.3f}  {recall:6.3f}  {len(found):6d}  "
              f"({len(text)} / {text_right}; {seconds:.2f} s)")


if __name__ == "__main__":
    main()
