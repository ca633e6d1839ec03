"""Who may read what of a Page under the New Pages Experience (docs/graph-api.md §0, §10).

Every Page is an NPE Page now, and for those Facebook wants the Page's *own* token for almost
everything. How a token relates to a Page decides each read:

``own``
    a Page token of that Page: reads everything of its Page (insights need ``read_insights``
    and the ANALYZE task).
``role``
    a user or system-user token that covers the Page, which the Business Manager was given a
    task on (``world.tasks``): public node fields only; anything else is 190 / 2069032 "A Page
    access token is required for this call." (ask ``/me/accounts`` for the Page token).
``no_role``
    a user or system-user token on a Page it has no role on (not shared, or outside the
    token's pages): public node fields; posts only with Page Public Content Access
    (``world.ppca``), else code 10; insights never (code 10).
``other_page``
    a Page token of another Page: public node fields; anything else (#200).
``app``
    the app token: no Page scopes, so code 10 as before.

Checks run inside the handlers, after the quotas, so a refused call still counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import errors
from .roles import ANALYZE
from .tokens import PAGE_TASKS, Token

if TYPE_CHECKING:
    from .context import Ctx
    from .world import World

# Page fields a user or system-user token reads on any live Page, role or not: the audience
# counts and the About information (what Page Public Metadata Access used to cover, §10).
# The exception list of §0 was not captured; this is the sandbox's choice (docs/sandbox.md).
PUBLIC_PAGE_FIELDS = frozenset(
    {
        "id", "name", "username", "link", "category", "category_list", "about", "description",
        "description_html", "fan_count", "followers_count", "talking_about_count",
        "verification_status", "is_verified", "is_published",
        "has_transitioned_to_new_page_experience", "picture", "cover", "engagement",
        "were_here_count", "checkins", "rating_count", "overall_star_rating", "website",
        "emails", "phone", "location", "single_line_address", "contact_address",
        "current_location", "hours", "is_always_open", "is_permanently_closed",
        "temporary_status", "founded", "mission", "company_overview", "general_info",
        "impressum", "is_community_page", "is_unclaimed", "is_chain", "global_brand_page_name",
        "global_brand_root_id", "name_with_location_descriptor", "display_subtext",
        "can_checkin", "price_range", "parking", "public_transit", "payment_options",
        "place_type", "products", "awards", "bio", "birthday", "hometown", "genre",
        "affiliation", "artists_we_like", "attire", "band_interests", "band_members",
        "booking_agent", "built", "culinary_team", "directed_by", "features", "food_styles",
        "general_manager", "influences", "members", "mpg", "network", "personal_info",
        "personal_interests", "plot_outline", "press_contact", "produced_by", "record_label",
        "release_date", "restaurant_services", "restaurant_specialties", "schedule",
        "screenplay_by", "season", "starring", "studio", "written_by", "pharma_safety_info",
        "privacy_info_url", "store_location_descriptor", "store_number", "store_code",
        "delivery_and_pickup_option_info", "differently_open_offerings", "pickup_options",
        "keywords", "parent_page", "best_page", "country_page_likes",
    }
)  # fmt: skip


def relation(world: World, token: Token, page_id: str) -> str:
    """``own``, ``role``, ``no_role``, ``other_page`` or ``app`` (see the module docstring)."""
    if token.type == "APP":
        return "app"
    if token.type == "PAGE":
        return "own" if token.covers(page_id) else "other_page"
    return "role" if token.covers(page_id) and world.tasks(page_id) else "no_role"


def has_role(world: World, token: Token, page_id: str) -> bool:
    """The token is, or could get, the Page's own token."""
    return relation(world, token, page_id) in ("own", "role")


def token_tasks(world: World, token: Token, page_id: str) -> tuple[str, ...]:
    """The tasks behind a token on a Page: the Business Manager's tasks on it.

    A Page token registered by hand for a Page the Business Manager has no task on stands for
    an admin outside the Business Manager: every task.
    """
    tasks = world.tasks(page_id)
    if not tasks and relation(world, token, page_id) == "own":
        return PAGE_TASKS
    return tasks


def require_read(ctx: Ctx, page_id: str) -> None:
    """Every read of a Page or its posts: the ``pages_read_engagement`` scope (#10)."""
    if "pages_read_engagement" not in ctx.token.scopes:
        raise errors.permission_scope("pages_read_engagement")


def require_private(ctx: Ctx, page_id: str) -> None:
    """Non-public Page fields and the Page edges the sandbox does not simulate."""
    rel = relation(ctx.world, ctx.token, page_id)
    if rel == "own":
        return
    if rel == "role":
        raise errors.page_token_required()
    raise errors.permission_object("pages_read_engagement")


def require_content(ctx: Ctx, page_id: str) -> None:
    """Posts edges, post nodes, reactions, comments, attachments."""
    rel = relation(ctx.world, ctx.token, page_id)
    if rel == "own":
        return
    if rel == "role":
        raise errors.page_token_required()
    if rel == "no_role":
        if ctx.world.ppca:
            return  # Page Public Content Access: posts of Pages one does not manage (§10)
        raise errors.permission_scope("pages_read_engagement")
    raise errors.permission_object("pages_read_engagement")


def require_insights(ctx: Ctx, page_id: str) -> None:
    """Page and post insights, by path or nested: the Page token, ``read_insights``, ANALYZE."""
    rel = relation(ctx.world, ctx.token, page_id)
    if rel == "role":
        raise errors.page_token_required()
    if rel == "other_page":
        raise errors.permission_object("pages_read_engagement")
    if rel != "own":
        raise errors.insights_not_available()
    if "read_insights" not in ctx.token.scopes:
        raise errors.permission_scope("read_insights")
    if ANALYZE not in token_tasks(ctx.world, ctx.token, page_id):
        raise errors.insights_not_available()
