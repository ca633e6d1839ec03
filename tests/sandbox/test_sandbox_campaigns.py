"""Campaigns in the simulated world (sandbox/campaigns.py): directive posts, the Pages under
them carrying them by share, link or re-posted text, and the truth a detector is scored on."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

import requests

from fanpulse.collector.cascade import Candidate, Seed, detect_carries
from fanpulse.sandbox import SandboxServer, World
from fanpulse.sandbox.campaigns import CARRY_DAYS
from fanpulse.sandbox.testing import SandboxClient


def test_seeds_and_carries_follow_the_tree(make_world: Callable[..., World]) -> None:
    world = make_world(n_pages=80, campaigns=True)
    seeds = {s["id"]: s for s in world.campaign_seeds()}
    assert len(seeds) >= 12 and {s["campaign"] for s in seeds.values()} >= {
        "vi-nguoi-ngheo-2026", "dai-doan-ket-2026"}
    carries = world.truth_carries()
    assert Counter(m for _s, m in carries.values()).keys() == {"share", "link", "text"}
    campaigns = world.history.campaigns
    assert campaigns is not None
    for post_id, (seed_id, method) in carries.items():
        seed = seeds[seed_id]
        page_id = post_id.split("_")[0]
        assert seed["page_id"] in campaigns.ancestors(page_id)  # only under the seed's Page
        post = world.history.find_post(page_id, post_id.split("_")[1])  # deleted ones too
        assert post is not None
        assert seed["created_time"] < post.created <= seed["created_time"] + dt.timedelta(
            days=CARRY_DAYS)
        assert (post.parent_id == seed_id) == (method == "share")
    assert make_world(n_pages=80).campaign_seeds() == []  # off unless asked for


def test_a_share_shows_its_parent_and_the_seed_as_attachment(
        make_world: Callable[..., World]) -> None:
    world = make_world(n_pages=80, campaigns=True)
    shared = next(p for p, (_s, m) in world.truth_carries().items() if m == "share")
    post = world.find_post(shared)
    assert post is not None
    with SandboxServer(world) as server, requests.Session() as session:
        graph = SandboxClient(server, session)
        token = world.page_token(post.page_id)
        answer = graph.get(f"/v27.0/{shared}", token=token,
                           fields="id,message,parent_id,attachments{url,target{id,url}}").json()
    assert answer["parent_id"] == post.parent_id
    target = answer["attachments"]["data"][0]["target"]
    assert target["id"] == post.parent_id and target["url"] == post.link_url


def test_the_rules_against_the_truth(make_world: Callable[..., World]) -> None:
    """The cascade rules on every post of a generated world (no collection: the end-to-end
    figures come from the collected store in the campaign tests)."""
    world = make_world(n_pages=80, campaigns=True)
    ids: dict[str, int] = {}
    candidates = []
    for page_number, page_id in enumerate(world.pages):
        for post in world.history.all_posts_until(page_id, world.now):
            number = ids.setdefault(post.id, len(ids) + 1)
            candidates.append(Candidate(number, page_number, post.created, post.message,
                                        post.parent_id,
                                        (post.link_url,) if post.link_url else ()))
    page_numbers = {p: n for n, p in enumerate(world.pages)}
    seeds = [Seed.make(ids[s["id"]], s["id"], page_numbers[s["page_id"]], s["created_time"],
                       s["message"], s["permalink_url"]) for s in world.campaign_seeds()]
    truth = {ids[p]: ids[s] for p, (s, _m) in world.truth_carries().items()}
    found = detect_carries(seeds, candidates, CARRY_DAYS + 1)
    right = sum(1 for c in found if truth.get(c.post_id) == c.seed_post_id)
    precision, recall = right / len(found), right / len(truth)
    print(f"cascade rules on a generated world: precision {precision:.3f}, recall {recall:.3f} "
          f"({right} of {len(truth)} carries, {len(found)} found)")
    assert precision >= 0.95 and recall >= 0.90
